// Micro-benchmark of the codec: encode, decode (split + CRC + decompress +
// records), the forwarding path (split + CRC + header rewrite), per
// compression codec, for batches of 500 records with 1 KiB values.
//
//   ./node_modules/.bin/node libs/record-batch/dist/bench-codec.js [secondsPerCase]
//
// MB/s counts uncompressed record bytes (the batch as it would be without
// compression), so codecs compare on the same logical work. Prints JSON, then
// a markdown table.

import { CompressionType } from "./compression-codec";
import { decodeRecordBatches } from "./decode-record-batches";
import { encodeRecordBatch, type RecordInput } from "./encode-record-batch";
import { rewriteBatchHeader } from "./rewrite-batch-header";

const RECORDS_PER_BATCH = 500;
const VALUE_BYTES = 1024;
const seconds = Number(process.argv[2] ?? 1);

/** JSON-looking values with some entropy, so compression ratios are plausible. */
function makeRecords(): RecordInput[] {
  let x = 12345;
  const rnd = () => {
    x = (Math.imul(x, 1103515245) + 12345) & 0x7fffffff;
    return x;
  };
  const words = [
    "order",
    "customer",
    "region",
    "eu-west",
    "us-east",
    "amount",
    "status",
    "shipped",
  ];
  const records: RecordInput[] = [];
  for (let i = 0; i < RECORDS_PER_BATCH; i++) {
    let s = "";
    while (s.length < VALUE_BYTES) {
      s += `"${words[rnd() % words.length]}":${rnd() % 100000},"id":"${rnd().toString(36)}",`;
    }
    records.push({
      timestamp: 1_700_000_000_000n + BigInt(i),
      key: `customer-${rnd() % 10000}`,
      value: Buffer.from(s.slice(0, VALUE_BYTES)),
      headers: [
        { key: "traceparent", value: `00-${rnd().toString(16)}-01` },
        { key: "source", value: "us-east" },
      ],
    });
  }
  return records;
}

function measure(fn: () => void): { opsPerSec: number; iterations: number } {
  for (let i = 0; i < 5; i++) fn(); // warm up
  let iterations = 0;
  const start = process.hrtime.bigint();
  const budget = BigInt(Math.round(seconds * 1e9));
  let elapsed = 0n;
  while (elapsed < budget) {
    fn();
    iterations++;
    elapsed = process.hrtime.bigint() - start;
  }
  return { opsPerSec: (iterations * 1e9) / Number(elapsed), iterations };
}

interface Result {
  codec: string;
  batchBytes: number;
  uncompressedBytes: number;
  ratio: number;
  encodeMBps: number;
  encodeRecordsPerSec: number;
  decodeMBps: number;
  decodeRecordsPerSec: number;
  forwardMBps: number;
  forwardRecordsPerSec: number;
}

const CODECS: [string, number][] = [
  ["none", CompressionType.None],
  ["gzip", CompressionType.Gzip],
  ["snappy", CompressionType.Snappy],
  ["lz4", CompressionType.Lz4],
  ["zstd", CompressionType.Zstd],
];

function main(): void {
  const records = makeRecords();
  const uncompressedBytes = encodeRecordBatch({ records }).length;
  const mb = uncompressedBytes / 1e6;
  const results: Result[] = [];
  let sink = 0;
  for (const [codec, compression] of CODECS) {
    const input = { producerId: 1n, producerEpoch: 0, baseSequence: 0, compression, records };
    const batch = encodeRecordBatch(input);
    const enc = measure(() => {
      sink += encodeRecordBatch(input).length;
    });
    const dec = measure(() => {
      for (const b of decodeRecordBatches(batch)) sink += b.records().length;
    });
    const fwd = measure(() => {
      for (const b of decodeRecordBatches(batch)) {
        sink += rewriteBatchHeader(b.raw, {
          producerId: 2n,
          producerEpoch: 1,
          baseSequence: 7,
        }).length;
      }
    });
    const round = (n: number) => Math.round(n * 10) / 10;
    results.push({
      codec,
      batchBytes: batch.length,
      uncompressedBytes,
      ratio: round(uncompressedBytes / batch.length),
      encodeMBps: round(enc.opsPerSec * mb),
      encodeRecordsPerSec: Math.round(enc.opsPerSec * RECORDS_PER_BATCH),
      decodeMBps: round(dec.opsPerSec * mb),
      decodeRecordsPerSec: Math.round(dec.opsPerSec * RECORDS_PER_BATCH),
      forwardMBps: round(fwd.opsPerSec * mb),
      forwardRecordsPerSec: Math.round(fwd.opsPerSec * RECORDS_PER_BATCH),
    });
  }
  if (sink === 0) throw new Error("unreachable: keeps the measured work observable");

  const meta = {
    node: process.version,
    recordsPerBatch: RECORDS_PER_BATCH,
    valueBytes: VALUE_BYTES,
    secondsPerCase: seconds,
  };
  console.log(JSON.stringify({ meta, results }, null, 2));
  console.log("");
  console.log(
    `Batches of ${RECORDS_PER_BATCH} records, ${VALUE_BYTES} B values; MB/s of uncompressed batch bytes (Node ${process.version}).`,
  );
  console.log("");
  console.log(
    "| codec | batch bytes | ratio | encode MB/s | encode rec/s | decode MB/s | decode rec/s | forward MB/s | forward rec/s |",
  );
  console.log("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (const r of results) {
    console.log(
      `| ${r.codec} | ${r.batchBytes} | ${r.ratio} | ${r.encodeMBps} | ${r.encodeRecordsPerSec} | ${r.decodeMBps} | ${r.decodeRecordsPerSec} | ${r.forwardMBps} | ${r.forwardRecordsPerSec} |`,
    );
  }
  console.log("");
  console.log(
    "decode = split + CRC-32C check + decompress + decode all records; forward = split + CRC-32C check + rewriteBatchHeader (copy, no recompression).",
  );
}

main();
