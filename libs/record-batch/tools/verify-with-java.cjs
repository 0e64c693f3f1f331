// Encodes batches with @geo/record-batch (every codec, tricky records, and
// batches re-stamped by rewriteBatchHeader), has Kafka's Java MemoryRecords
// read them (tools/RecordBatchFixtures.java verify), and compares what Java
// saw with what was written. See tools/README.md.
//
//   ./node_modules/.bin/node libs/record-batch/tools/verify-with-java.cjs <classpath>
//
// <classpath>: a directory holding the compiled RecordBatchFixtures class and
// the kafka-clients jars, e.g. "/tmp/rbx/cls:/tmp/rbx/jars/*".

const { execFileSync } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const rb = require("../dist/index.js");

const cp = process.argv[2];
if (!cp) {
  console.error("usage: verify-with-java.cjs <java classpath>");
  process.exit(2);
}

const T = 1700000000000n;
const big = Buffer.alloc(200 * 1024);
for (let i = 0; i < big.length; i++) big[i] = (i * 31 + (i >> 9)) & 0xff;
const records = [
  {
    timestamp: T,
    key: Buffer.from("k1"),
    value: Buffer.from("v1"),
    headers: [
      { key: "a", value: Buffer.from("1") },
      { key: "b", value: Buffer.from("2") },
      { key: "a", value: Buffer.from("3") },
      { key: "9", value: Buffer.from("x") },
      { key: "1", value: Buffer.from("y") },
    ],
  },
  { timestamp: T - 5n, key: null, value: Buffer.alloc(0), headers: [] },
  {
    timestamp: T + 1000n,
    key: Buffer.alloc(0),
    value: null,
    headers: [
      { key: "é", value: null },
      { key: "", value: Buffer.alloc(0) },
    ],
  },
  { timestamp: T + 1n, key: Buffer.from("big"), value: big, headers: [] },
];

const batches = [];
let base = 0n;
for (const compression of [0, 1, 2, 3, 4]) {
  batches.push(
    rb.encodeRecordBatch({
      baseOffset: base,
      partitionLeaderEpoch: 3,
      producerId: 77n,
      producerEpoch: 1,
      baseSequence: 10,
      compression,
      records,
    }),
  );
  base += 10n;
}
// Forwarding path: re-stamp a copy of each compressed batch.
for (const b of batches.slice(1, 5)) {
  batches.push(
    rb.rewriteBatchHeader(b, {
      baseOffset: base,
      producerId: 123456789012n,
      producerEpoch: 9,
      baseSequence: 1000,
      partitionLeaderEpoch: 12,
    }),
  );
  base += 10n;
}
const blob = Buffer.concat(batches);
const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "rb-java-")), "batches.bin");
fs.writeFileSync(file, blob);

const out = execFileSync("java", ["-cp", cp, "RecordBatchFixtures", "verify", file], {
  encoding: "utf8",
  maxBuffer: 256 * 1024 * 1024,
  stdio: ["ignore", "pipe", "ignore"],
});
const javaLines = out.trim().split("\n");

const hex = (b) => (b === null ? null : b.toString("hex"));
const ours = [];
const names = ["none", "gzip", "snappy", "lz4", "zstd"];
for (const b of rb.decodeRecordBatches(blob)) {
  ours.push(
    JSON.stringify({
      batch: {
        baseOffset: Number(b.baseOffset),
        lastOffset: Number(b.lastOffset),
        partitionLeaderEpoch: b.partitionLeaderEpoch,
        compression: names[b.compression],
        timestampType: b.timestampType === 0 ? "CreateTime" : "LogAppendTime",
        maxTimestamp: Number(b.maxTimestamp),
        producerId: Number(b.producerId),
        producerEpoch: b.producerEpoch,
        baseSequence: b.baseSequence,
        transactional: b.isTransactional,
        control: b.isControl,
        count: b.recordCount,
      },
    }),
  );
  for (const r of b.records()) {
    ours.push(
      JSON.stringify({
        record: {
          offset: Number(r.offset),
          timestamp: Number(r.timestamp),
          key: hex(r.key),
          value: hex(r.value),
          headers: r.headers.map((h) => [hex(h.key), hex(h.value)]),
        },
      }),
    );
  }
}
let mismatches = 0;
for (let i = 0; i < Math.max(ours.length, javaLines.length); i++) {
  const j = javaLines[i] === undefined ? undefined : JSON.stringify(JSON.parse(javaLines[i]));
  if (j !== ours[i]) {
    mismatches++;
    console.log(`line ${i}\n  java: ${j?.slice(0, 300)}\n  ours: ${ours[i]?.slice(0, 300)}`);
  }
}
console.log(
  `${batches.length} batches, ${javaLines.length} lines read by Java, ${mismatches} mismatches`,
);
process.exit(mismatches === 0 ? 0 : 1);
