// Cross-checks @geo/record-batch against Apache Kafka's own Java record code
// (kafka-clients). Not part of the build or the test run: the tests use the
// fixtures this program generated, checked in as src/java-fixtures.ts.
//
//   generate          print src/java-fixtures.ts (batches built by MemoryRecordsBuilder)
//   verify <file>     read concatenated batches from <file> with MemoryRecords,
//                     validate CRCs, print one JSON line per batch and record
//
// See tools/README.md for how to fetch kafka-clients and run it.

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Base64;

import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.record.CompressionType;
import org.apache.kafka.common.record.ControlRecordType;
import org.apache.kafka.common.record.EndTransactionMarker;
import org.apache.kafka.common.record.MemoryRecords;
import org.apache.kafka.common.record.MemoryRecordsBuilder;
import org.apache.kafka.common.record.MutableRecordBatch;
import org.apache.kafka.common.record.Record;
import org.apache.kafka.common.record.RecordBatch;
import org.apache.kafka.common.record.TimestampType;

public class RecordBatchFixtures {
    static final long T = 1700000000000L;
    static final HexFormat HEX = HexFormat.of();

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static Header h(String k, byte[] v) {
        return new RecordHeader(k, v);
    }

    /**
     * 80 KiB, compressible but not trivially: spans two lz4 blocks (64 KiB) and
     * three snappy chunks (32 KiB). Only compressed fixtures carry it, to keep
     * the fixture file small. The test regenerates it with the same generator.
     */
    static byte[] bigValue() {
        byte[] b = new byte[80 * 1024];
        String words = "kafka geo replication batch record header offset ";
        int x = 1;
        for (int i = 0; i < b.length; i++) {
            x = (x * 1103515245 + 12345) & 0x7fffffff;
            b[i] = (x % 128 == 0) ? (byte) (x >>> 16) : (byte) words.charAt(i % words.length());
        }
        return b;
    }

    static ByteBuffer dataBatch(Compression compression) {
        ByteBuffer buf = ByteBuffer.allocate(1 << 20);
        MemoryRecordsBuilder b = MemoryRecords.builder(buf, RecordBatch.MAGIC_VALUE_V2, compression,
            TimestampType.CREATE_TIME, 100L, RecordBatch.NO_TIMESTAMP, 7001L, (short) 2, 11, false, 5);
        b.append(T, utf8("k1"), utf8("v1"), new Header[] {
            h("a", utf8("1")), h("b", utf8("2")), h("a", utf8("3")), h("9", utf8("x")), h("1", utf8("y"))});
        b.append(T - 5, null, new byte[0], new Header[0]);
        b.append(T + 1000, new byte[0], null, new Header[] {h("é", null), h("", new byte[0])});
        if (compression.type() != CompressionType.NONE) b.append(T + 1, utf8("big"), bigValue(), new Header[0]);
        return b.build().buffer();
    }

    static ByteBuffer transactionalBatch() {
        ByteBuffer buf = ByteBuffer.allocate(4096);
        MemoryRecordsBuilder b = MemoryRecords.builder(buf, RecordBatch.MAGIC_VALUE_V2, Compression.NONE,
            TimestampType.CREATE_TIME, 200L, RecordBatch.NO_TIMESTAMP, 4242L, (short) 3, 7, true, 9);
        b.append(T, utf8("t1"), utf8("x"), new Header[0]);
        b.append(T, utf8("t2"), utf8("y"), new Header[0]);
        return b.build().buffer();
    }

    static ByteBuffer logAppendTimeBatch() {
        ByteBuffer buf = ByteBuffer.allocate(4096);
        MemoryRecordsBuilder b = MemoryRecords.builder(buf, RecordBatch.MAGIC_VALUE_V2, Compression.NONE,
            TimestampType.LOG_APPEND_TIME, 300L, T + 99999, RecordBatch.NO_PRODUCER_ID,
            RecordBatch.NO_PRODUCER_EPOCH, RecordBatch.NO_SEQUENCE, false, 1);
        b.append(T, utf8("l1"), utf8("a"), new Header[0]);
        b.append(T + 1, utf8("l2"), utf8("b"), new Header[0]);
        return b.build().buffer();
    }

    /** Offsets 400, 402, 405: what a compacted log returns. */
    static ByteBuffer gappedBatch() {
        ByteBuffer buf = ByteBuffer.allocate(4096);
        MemoryRecordsBuilder b = MemoryRecords.builder(buf, RecordBatch.MAGIC_VALUE_V2, Compression.NONE,
            TimestampType.CREATE_TIME, 400L, RecordBatch.NO_TIMESTAMP, RecordBatch.NO_PRODUCER_ID,
            RecordBatch.NO_PRODUCER_EPOCH, RecordBatch.NO_SEQUENCE, false, 1);
        b.appendWithOffset(400L, T, utf8("g0"), utf8("a"), new Header[0]);
        b.appendWithOffset(402L, T, utf8("g2"), utf8("b"), new Header[0]);
        b.appendWithOffset(405L, T, utf8("g5"), utf8("c"), new Header[0]);
        return b.build().buffer();
    }

    static String b64(ByteBuffer b) {
        byte[] a = new byte[b.remaining()];
        b.duplicate().get(a);
        return Base64.getEncoder().encodeToString(a);
    }

    static void generate() {
        StringBuilder out = new StringBuilder();
        out.append("// Generated by tools/RecordBatchFixtures.java (generate) with kafka-clients ")
            .append(org.apache.kafka.common.utils.AppInfoParser.getVersion()).append(". Do not edit.\n");
        out.append("// Base64 of batches written by Kafka's Java MemoryRecordsBuilder; see that file for their contents.\n\n");
        out.append("export const javaFixtures = {\n");
        for (CompressionType t : new CompressionType[] {CompressionType.NONE, CompressionType.GZIP,
            CompressionType.SNAPPY, CompressionType.LZ4, CompressionType.ZSTD}) {
            out.append("  data_").append(t.name).append(": \"").append(b64(dataBatch(Compression.of(t).build())))
                .append("\",\n");
        }
        out.append("  transactional: \"").append(b64(transactionalBatch())).append("\",\n");
        out.append("  abortMarker: \"").append(b64(MemoryRecords.withEndTransactionMarker(202L, T + 5, 9, 4242L,
            (short) 3, new EndTransactionMarker(ControlRecordType.ABORT, 17)).buffer())).append("\",\n");
        out.append("  commitMarker: \"").append(b64(MemoryRecords.withEndTransactionMarker(203L, T + 6, 9, 4242L,
            (short) 3, new EndTransactionMarker(ControlRecordType.COMMIT, 18)).buffer())).append("\",\n");
        out.append("  logAppendTime: \"").append(b64(logAppendTimeBatch())).append("\",\n");
        out.append("  gapped: \"").append(b64(gappedBatch())).append("\",\n");
        out.append("} as const;\n");
        System.out.print(out);
    }

    static String bytesJson(ByteBuffer b) {
        if (b == null) return "null";
        byte[] a = new byte[b.remaining()];
        b.duplicate().get(a);
        return "\"" + HEX.formatHex(a) + "\"";
    }

    static void verify(String file) throws Exception {
        ByteBuffer buf = ByteBuffer.wrap(Files.readAllBytes(Paths.get(file)));
        MemoryRecords records = MemoryRecords.readableRecords(buf);
        for (MutableRecordBatch batch : records.batches()) {
            batch.ensureValid();
            System.out.println("{\"batch\":{\"baseOffset\":" + batch.baseOffset() + ",\"lastOffset\":" + batch.lastOffset()
                + ",\"partitionLeaderEpoch\":" + batch.partitionLeaderEpoch() + ",\"compression\":\"" + batch.compressionType()
                + "\",\"timestampType\":\"" + batch.timestampType() + "\",\"maxTimestamp\":" + batch.maxTimestamp()
                + ",\"producerId\":" + batch.producerId() + ",\"producerEpoch\":" + batch.producerEpoch()
                + ",\"baseSequence\":" + batch.baseSequence() + ",\"transactional\":" + batch.isTransactional()
                + ",\"control\":" + batch.isControlBatch() + ",\"count\":" + batch.countOrNull() + "}}");
            for (Record r : batch) {
                r.ensureValid();
                List<String> hs = new ArrayList<>();
                for (Header hd : r.headers()) {
                    hs.add("[\"" + HEX.formatHex(hd.key().getBytes(StandardCharsets.UTF_8)) + "\","
                        + (hd.value() == null ? "null" : "\"" + HEX.formatHex(hd.value()) + "\"") + "]");
                }
                System.out.println("{\"record\":{\"offset\":" + r.offset() + ",\"timestamp\":" + r.timestamp()
                    + ",\"key\":" + bytesJson(r.key()) + ",\"value\":" + bytesJson(r.value())
                    + ",\"headers\":[" + String.join(",", hs) + "]}}");
            }
        }
    }

    public static void main(String[] args) throws Exception {
        if (args.length >= 1 && args[0].equals("generate")) {
            generate();
        } else if (args.length >= 2 && args[0].equals("verify")) {
            verify(args[1]);
        } else {
            System.err.println("usage: RecordBatchFixtures generate | verify <file>");
            System.exit(2);
        }
    }
}
