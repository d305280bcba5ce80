// Generates nkafka's protocol test vectors from the real Java client (kafka-clients, the
// version pinned in pom.xml), so the Rust protocol crate is checked against Kafka's own
// code rather than against our reading of the spec.
//
// Regenerate (Java 17+, Maven):
//
//     bash scripts/vectors/generate.sh
//
// which copies kafka-clients and its runtime dependencies into scripts/vectors/target/lib
// with `mvn dependency:copy-dependencies` and then runs this file as a single-file source
// program:
//
//     java -cp 'scripts/vectors/target/lib/*' scripts/vectors/GenerateVectors.java \
//          crates/protocol/tests/vectors
//
// Output (described in crates/protocol/tests/vectors/README.md):
//   errors.json         every Errors.java entry: code, name, retriable, description
//   murmur2.json        Utils.murmur2 / toPositive / BuiltInPartitioner.partitionForKey
//   record_batches.json RecordBatch v2 bytes from MemoryRecordsBuilder, with their inputs
//
// Everything is deterministic (fixed inputs and java.util.Random seeds), except that the
// compressed batches' bytes depend on the codec library versions (recorded in the files).

import org.apache.kafka.clients.producer.internals.BuiltInPartitioner;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.errors.ApiException;
import org.apache.kafka.common.errors.InvalidMetadataException;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.common.record.internal.ControlRecordType;
import org.apache.kafka.common.record.internal.EndTransactionMarker;
import org.apache.kafka.common.record.internal.MemoryRecords;
import org.apache.kafka.common.record.internal.MemoryRecordsBuilder;
import org.apache.kafka.common.record.internal.MutableRecordBatch;
import org.apache.kafka.common.record.internal.Record;
import org.apache.kafka.common.record.internal.RecordBatch;
import org.apache.kafka.common.utils.AppInfoParser;
import org.apache.kafka.common.utils.Utils;

import java.io.File;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeSet;

public class GenerateVectors {

    static final long T0 = 1_700_000_000_000L;
    static final int[] PARTITION_COUNTS = {1, 2, 3, 6, 7, 12, 100};

    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: GenerateVectors <output dir>");
            System.exit(2);
        }
        Path out = Path.of(args[0]);
        Files.createDirectories(out);
        write(out.resolve("errors.json"), errors());
        write(out.resolve("murmur2.json"), murmur2());
        write(out.resolve("record_batches.json"), recordBatches());
    }

    // ---------------------------------------------------------------- common

    static Map<String, Object> header(String what) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("generator", "scripts/vectors/GenerateVectors.java");
        m.put("kafka_clients_version", AppInfoParser.getVersion());
        m.put("what", what);
        return m;
    }

    static void write(Path p, Object json) throws IOException {
        StringBuilder sb = new StringBuilder();
        Json.write(sb, json, 0);
        sb.append('\n');
        Files.writeString(p, sb.toString(), StandardCharsets.UTF_8);
        System.out.println("wrote " + p);
    }

    static String hex(byte[] b) {
        if (b == null) return null;
        StringBuilder sb = new StringBuilder(b.length * 2);
        for (byte x : b) sb.append(String.format("%02x", x & 0xff));
        return sb.toString();
    }

    static byte[] bytes(ByteBuffer bb) {
        if (bb == null) return null;
        ByteBuffer d = bb.duplicate();
        byte[] b = new byte[d.remaining()];
        d.get(b);
        return b;
    }

    static byte[] utf8(String s) {
        return s == null ? null : s.getBytes(StandardCharsets.UTF_8);
    }

    // ---------------------------------------------------------------- errors

    static Object errors() {
        Map<String, Object> root = header(
            "Every org.apache.kafka.common.protocol.Errors entry. retriable = exception() instanceof "
                + "RetriableException; invalid_metadata = exception() instanceof InvalidMetadataException "
                + "(the Java client refreshes metadata on these); description = exception().getMessage() "
                + "(null for NONE).");
        List<Object> list = new ArrayList<>();
        for (Errors e : Errors.values()) {
            ApiException ex = e.exception();
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("code", (int) e.code());
            m.put("name", e.name());
            m.put("retriable", ex instanceof RetriableException);
            m.put("invalid_metadata", ex instanceof InvalidMetadataException);
            m.put("exception", ex == null ? null : ex.getClass().getSimpleName());
            m.put("description", ex == null ? null : ex.getMessage());
            list.add(m);
        }
        root.put("errors", list);
        return root;
    }

    // ---------------------------------------------------------------- murmur2

    static Object murmur2() {
        Map<String, Object> root = header(
            "Utils.murmur2(key), Utils.toPositive(murmur2) and BuiltInPartitioner.partitionForKey(key, n) "
                + "for each n in partition_counts; partitions is a list of [n, partition] pairs.");
        root.put("partition_counts", PARTITION_COUNTS);

        List<byte[]> keys = new ArrayList<>();
        List<String> labels = new ArrayList<>();
        List<String> texts = new ArrayList<>();

        // Empty key, then 1..64 bytes of a fixed pattern (every tail length 0..3, several blocks).
        add(keys, labels, texts, new byte[0], "empty", null);
        for (int len = 1; len <= 64; len++) {
            byte[] k = new byte[len];
            for (int i = 0; i < len; i++) k[i] = (byte) (i * 31 + 7);
            add(keys, labels, texts, k, "pattern-" + len, null);
        }
        // All-0xff and all-0x80 keys exercise sign extension of the tail bytes.
        for (int len = 1; len <= 8; len++) {
            byte[] ff = new byte[len];
            Arrays.fill(ff, (byte) 0xff);
            add(keys, labels, texts, ff, "ff-" + len, null);
            byte[] x80 = new byte[len];
            Arrays.fill(x80, (byte) 0x80);
            add(keys, labels, texts, x80, "80-" + len, null);
        }
        // ASCII strings, including the classic "key-N" and numeric keys.
        String[] ascii = {"a", "ab", "abc", "abcd", "abcde", "hello", "hello world", "21", "foobar",
            "kafka", "nkafka", "The quick brown fox jumps over the lazy dog", "user-1", "user-42",
            "order:2024-01-01:000001", " ", "0", "-1", "null", "{\"id\":17}"};
        for (String s : ascii) add(keys, labels, texts, utf8(s), "ascii", s);
        for (int i = 0; i < 30; i++) add(keys, labels, texts, utf8("key-" + i), "ascii", "key-" + i);
        // UTF-8 strings (multi-byte sequences, 4-byte emoji).
        String[] unicode = {"h\u00e9llo", "\u65e5\u672c\u8a9e", "\u00fc\u00f1\u00ee\u00e7\u00f8d\u00e9",
            "\uD83D\uDE80", "caf\u00e9 \u2615", "\u041f\u0440\u0438\u0432\u0435\u0442",
            "\u0645\u0631\u062d\u0628\u0627", "\uD83D\uDC4D\uD83C\uDFFD x"};
        for (String s : unicode) add(keys, labels, texts, utf8(s), "utf8", s);
        // Random binary of random length (0..200) from a fixed seed.
        Random rnd = new Random(0x6e6b61666b61L);
        for (int i = 0; i < 40; i++) {
            byte[] k = new byte[rnd.nextInt(201)];
            rnd.nextBytes(k);
            add(keys, labels, texts, k, "random", null);
        }
        // 16-byte keys (UUID-sized), common in practice.
        Random rnd16 = new Random(16);
        for (int i = 0; i < 20; i++) {
            byte[] k = new byte[16];
            rnd16.nextBytes(k);
            add(keys, labels, texts, k, "random-16", null);
        }

        List<Object> cases = new ArrayList<>();
        for (int i = 0; i < keys.size(); i++) {
            byte[] k = keys.get(i);
            int h = Utils.murmur2(k);
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("label", labels.get(i));
            if (texts.get(i) != null) m.put("key_text", texts.get(i));
            m.put("key_hex", hex(k));
            m.put("murmur2", h);
            m.put("to_positive", Utils.toPositive(h));
            List<Object> parts = new ArrayList<>();
            for (int n : PARTITION_COUNTS) {
                parts.add(new int[] {n, BuiltInPartitioner.partitionForKey(k, n)});
            }
            m.put("partitions", parts);
            cases.add(m);
        }
        root.put("cases", cases);
        return root;
    }

    static void add(List<byte[]> keys, List<String> labels, List<String> texts, byte[] k, String label,
                    String text) {
        keys.add(k);
        labels.add(label);
        texts.add(text);
    }

    // ---------------------------------------------------------------- record batches

    /** One record as handed to MemoryRecordsBuilder.append. */
    static final class Rec {
        final long timestamp;
        final byte[] key;
        final byte[] value;
        final Header[] headers;

        Rec(long timestamp, byte[] key, byte[] value, Header... headers) {
            this.timestamp = timestamp;
            this.key = key;
            this.value = value;
            this.headers = headers;
        }
    }

    /** The inputs of one MemoryRecordsBuilder. */
    static final class Spec {
        long baseOffset = 0;
        String compression = "none";
        TimestampType timestampType = TimestampType.CREATE_TIME;
        long logAppendTime = RecordBatch.NO_TIMESTAMP;
        long producerId = RecordBatch.NO_PRODUCER_ID;
        short producerEpoch = RecordBatch.NO_PRODUCER_EPOCH;
        int baseSequence = RecordBatch.NO_SEQUENCE;
        boolean transactional = false;
        int partitionLeaderEpoch = RecordBatch.NO_PARTITION_LEADER_EPOCH;
        List<Rec> records = new ArrayList<>();
        // Only for control batches written by MemoryRecords.withEndTransactionMarker.
        EndTransactionMarker marker;
        long markerTimestamp;

        Spec copy(String compression) {
            Spec s = new Spec();
            s.baseOffset = baseOffset;
            s.compression = compression;
            s.timestampType = timestampType;
            s.logAppendTime = logAppendTime;
            s.producerId = producerId;
            s.producerEpoch = producerEpoch;
            s.baseSequence = baseSequence;
            s.transactional = transactional;
            s.partitionLeaderEpoch = partitionLeaderEpoch;
            s.records = records;
            return s;
        }
    }

    static Compression compression(String name) {
        switch (name) {
            case "none": return Compression.NONE;
            case "gzip": return Compression.gzip().build();
            case "snappy": return Compression.snappy().build();
            case "lz4": return Compression.lz4().build();
            case "zstd": return Compression.zstd().build();
            default: throw new IllegalArgumentException(name);
        }
    }

    static byte[] build(Spec s) {
        if (s.marker != null) {
            MemoryRecords mr = MemoryRecords.withEndTransactionMarker(s.baseOffset, s.markerTimestamp,
                s.partitionLeaderEpoch, s.producerId, s.producerEpoch, s.marker);
            return bytes(mr.buffer());
        }
        ByteBuffer buf = ByteBuffer.allocate(256);
        MemoryRecordsBuilder b = MemoryRecords.builder(buf, RecordBatch.MAGIC_VALUE_V2, compression(s.compression),
            s.timestampType, s.baseOffset, s.logAppendTime, s.producerId, s.producerEpoch, s.baseSequence,
            s.transactional, false, s.partitionLeaderEpoch);
        for (Rec r : s.records) b.append(r.timestamp, r.key, r.value, r.headers);
        return bytes(b.build().buffer());
    }

    static List<Object> headersJson(Header[] hs) {
        List<Object> l = new ArrayList<>();
        for (Header h : hs) l.add(Arrays.asList(h.key(), hex(h.value())));
        return l;
    }

    static Map<String, Object> recJson(long timestamp, byte[] key, byte[] value, Header[] headers) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("timestamp", timestamp);
        m.put("key_hex", hex(key));
        m.put("value_hex", hex(value));
        m.put("headers", headersJson(headers));
        return m;
    }

    /** Input description plus what Java reads back from the batch it wrote. */
    static Map<String, Object> batchJson(Spec s, byte[] batchBytes) {
        MemoryRecords mr = MemoryRecords.readableRecords(ByteBuffer.wrap(batchBytes));
        List<MutableRecordBatch> batches = new ArrayList<>();
        mr.batches().forEach(batches::add);
        if (batches.size() != 1) throw new IllegalStateException("expected one batch");
        MutableRecordBatch batch = batches.get(0);
        batch.ensureValid();

        Map<String, Object> m = new LinkedHashMap<>();
        m.put("base_offset", s.baseOffset);
        m.put("magic", 2);
        m.put("compression", s.compression);
        m.put("timestamp_type", s.timestampType == TimestampType.CREATE_TIME ? "CreateTime" : "LogAppendTime");
        m.put("log_append_time", s.marker != null ? s.markerTimestamp : s.logAppendTime);
        m.put("producer_id", s.producerId);
        m.put("producer_epoch", (int) s.producerEpoch);
        m.put("base_sequence", s.baseSequence);
        m.put("is_transactional", s.marker != null || s.transactional);
        m.put("is_control", s.marker != null);
        m.put("partition_leader_epoch", s.partitionLeaderEpoch);
        if (s.marker != null) {
            Map<String, Object> mk = new LinkedHashMap<>();
            mk.put("type", s.marker.controlType().name());
            mk.put("coordinator_epoch", s.marker.coordinatorEpoch());
            mk.put("timestamp", s.markerTimestamp);
            m.put("end_txn_marker", mk);
        } else {
            m.put("end_txn_marker", null);
        }

        List<Object> recs = new ArrayList<>();
        List<Object> offsets = new ArrayList<>();
        List<Object> timestamps = new ArrayList<>();
        int i = 0;
        for (Record r : batch) {
            byte[] k = r.hasKey() ? bytes(r.key()) : null;
            byte[] v = r.hasValue() ? bytes(r.value()) : null;
            if (s.marker != null) {
                // The control record's key and value are what Java wrote; list them as the input.
                recs.add(recJson(r.timestamp(), k, v, r.headers()));
            } else {
                Rec in = s.records.get(i);
                if (!Arrays.equals(in.key, k) || !Arrays.equals(in.value, v)
                    || !Arrays.equals(in.headers, r.headers())) {
                    throw new IllegalStateException("read-back mismatch at record " + i);
                }
                recs.add(recJson(in.timestamp, in.key, in.value, in.headers));
            }
            offsets.add(r.offset());
            timestamps.add(r.timestamp());
            i++;
        }
        if (s.marker == null && i != s.records.size()) throw new IllegalStateException("record count");
        m.put("records", recs);

        ByteBuffer bb = ByteBuffer.wrap(batchBytes);
        Map<String, Object> e = new LinkedHashMap<>();
        e.put("size_in_bytes", batch.sizeInBytes());
        e.put("batch_length", bb.getInt(8));
        e.put("attributes", (int) bb.getShort(21));
        e.put("crc", batch.checksum());
        e.put("last_offset_delta", bb.getInt(23));
        e.put("base_timestamp", bb.getLong(27));
        e.put("max_timestamp", batch.maxTimestamp());
        e.put("record_count", batch.countOrNull());
        e.put("last_offset", batch.lastOffset());
        e.put("last_sequence", batch.lastSequence());
        e.put("record_offsets", offsets);
        e.put("record_timestamps", timestamps);
        m.put("expected", e);
        m.put("hex", hex(batchBytes));
        return m;
    }

    static Map<String, Object> caseJson(String name, String description, List<Spec> specs) {
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("name", name);
        c.put("description", description);
        List<Object> bs = new ArrayList<>();
        java.io.ByteArrayOutputStream all = new java.io.ByteArrayOutputStream();
        for (Spec s : specs) {
            byte[] b = build(s);
            bs.add(batchJson(s, b));
            all.write(b, 0, b.length);
        }
        byte[] allBytes = all.toByteArray();
        // Check that Java reads the concatenation back as the same number of batches.
        int n = 0;
        for (MutableRecordBatch b : MemoryRecords.readableRecords(ByteBuffer.wrap(allBytes)).batches()) {
            b.ensureValid();
            n++;
        }
        if (n != specs.size()) throw new IllegalStateException(name + ": batch count " + n);
        c.put("batches", bs);
        c.put("hex", hex(allBytes));
        return c;
    }

    static Header h(String key, byte[] value) {
        return new RecordHeader(key, value);
    }

    static byte[] filled(int len, int seed) {
        byte[] b = new byte[len];
        new Random(seed).nextBytes(b);
        return b;
    }

    static Object recordBatches() {
        Map<String, Object> root = header(
            "RecordBatch v2 (magic 2) bytes written by MemoryRecordsBuilder (and "
                + "MemoryRecords.withEndTransactionMarker for the control batch), with the exact inputs and "
                + "what Java reads back. See README.md for the shape.");
        List<String> jars = new ArrayList<>();
        for (String p : System.getProperty("java.class.path").split(File.pathSeparator)) {
            jars.add(new File(p).getName());
        }
        root.put("classpath", new ArrayList<>(new TreeSet<>(jars)));
        root.put("java_version", System.getProperty("java.version"));
        List<Object> cases = new ArrayList<>();

        Spec one = new Spec();
        one.records.add(new Rec(T0, utf8("key"), utf8("value")));
        cases.add(caseJson("one_record", "A single record with key and value.", List.of(one)));

        Spec ts = new Spec();
        ts.records.add(new Rec(T0, utf8("k0"), utf8("v0")));
        ts.records.add(new Rec(T0 + 5, utf8("k1"), utf8("v1")));
        ts.records.add(new Rec(T0 - 1000, utf8("k2"), utf8("v2")));
        ts.records.add(new Rec(T0 + 1_000_000, utf8("k3"), utf8("v3")));
        ts.records.add(new Rec(T0 + 1, utf8("k4"), utf8("v4")));
        cases.add(caseJson("varying_timestamps",
            "Five records; the third has a timestamp earlier than the first (negative timestamp delta), "
                + "the fourth is the max.", List.of(ts)));

        Spec nullKey = new Spec();
        nullKey.records.add(new Rec(T0, null, utf8("no key")));
        cases.add(caseJson("null_key", "Record with a null key (key length -1).", List.of(nullKey)));

        Spec tomb = new Spec();
        tomb.records.add(new Rec(T0, utf8("deleted-key"), null));
        cases.add(caseJson("null_value", "Tombstone: null value (value length -1).", List.of(tomb)));

        Spec empty = new Spec();
        empty.records.add(new Rec(T0, new byte[0], new byte[0]));
        cases.add(caseJson("empty_key_value", "Empty (not null) key and value: length 0.", List.of(empty)));

        Spec hdr = new Spec();
        hdr.records.add(new Rec(T0, utf8("k"), utf8("v"),
            h("trace-id", utf8("abc123")), h("dup", utf8("first")), h("dup", utf8("second")),
            h("null-value", null), h("", new byte[0]), h("caf\u00e9", new byte[] {0, 1, 2, (byte) 0xff})));
        hdr.records.add(new Rec(T0 + 1, utf8("k2"), utf8("v2")));
        hdr.records.add(new Rec(T0 + 2, null, null, h("only", utf8("header"))));
        cases.add(caseJson("headers",
            "Headers in order, including a duplicated key, a null header value, an empty key and value, "
                + "a non-ASCII key; then a record without headers; then null key/value with a header.",
            List.of(hdr)));

        Spec many = new Spec();
        for (int i = 0; i < 300; i++) {
            many.records.add(new Rec(T0 + i * 7L, utf8(String.format("key-%05d", i)), filled(100, i)));
        }
        cases.add(caseJson("many_records_300x100",
            "300 records with 100-byte random values: offset deltas and timestamp deltas need multi-byte "
                + "varints.", List.of(many)));

        Spec large = new Spec();
        large.records.add(new Rec(T0, utf8("big"), filled(20 * 1024, 20)));
        cases.add(caseJson("large_value_20k", "One record with a 20 KiB value (3-byte varint length).",
            List.of(large)));

        Spec idem = new Spec();
        idem.producerId = 1000;
        idem.producerEpoch = 3;
        idem.baseSequence = 42;
        for (int i = 0; i < 3; i++) idem.records.add(new Rec(T0 + i, utf8("k" + i), utf8("v" + i)));
        cases.add(caseJson("idempotent", "Idempotent producer: producerId 1000, epoch 3, baseSequence 42.",
            List.of(idem)));

        Spec txn = new Spec();
        txn.producerId = 2000;
        txn.producerEpoch = 1;
        txn.baseSequence = 0;
        txn.transactional = true;
        for (int i = 0; i < 2; i++) txn.records.add(new Rec(T0 + i, utf8("tk" + i), utf8("tv" + i)));
        cases.add(caseJson("transactional", "Transactional batch: producerId 2000, epoch 1, sequence 0.",
            List.of(txn)));

        Spec commit = new Spec();
        commit.baseOffset = 2;
        commit.producerId = 2000;
        commit.producerEpoch = 1;
        commit.partitionLeaderEpoch = 5;
        commit.marker = new EndTransactionMarker(ControlRecordType.COMMIT, 7);
        commit.markerTimestamp = T0 + 10;
        cases.add(caseJson("control_commit_marker",
            "Control batch with an end-transaction COMMIT marker (coordinator epoch 7), from "
                + "MemoryRecords.withEndTransactionMarker.", List.of(commit)));

        Spec abort = new Spec();
        abort.baseOffset = 3;
        abort.producerId = 2000;
        abort.producerEpoch = 1;
        abort.partitionLeaderEpoch = 5;
        abort.marker = new EndTransactionMarker(ControlRecordType.ABORT, 7);
        abort.markerTimestamp = T0 + 11;
        cases.add(caseJson("control_abort_marker", "Control batch with an end-transaction ABORT marker.",
            List.of(abort)));

        Spec lat = new Spec();
        lat.timestampType = TimestampType.LOG_APPEND_TIME;
        lat.logAppendTime = T0 + 12_345;
        lat.records.add(new Rec(T0, utf8("a"), utf8("1")));
        lat.records.add(new Rec(T0 + 3, utf8("b"), utf8("2")));
        cases.add(caseJson("log_append_time",
            "LogAppendTime batch (attribute bit 3); the broker-style logAppendTime becomes maxTimestamp.",
            List.of(lat)));

        Spec ple = new Spec();
        ple.baseOffset = 1_234_567_890_123L;
        ple.partitionLeaderEpoch = 42;
        ple.records.add(new Rec(T0, utf8("e"), utf8("epoch")));
        cases.add(caseJson("partition_leader_epoch",
            "Custom partitionLeaderEpoch 42 and a large baseOffset.", List.of(ple)));

        for (String codec : List.of("gzip", "snappy", "lz4", "zstd")) {
            cases.add(caseJson("one_record_" + codec, "one_record compressed with " + codec + ".",
                List.of(one.copy(codec))));
            cases.add(caseJson("headers_" + codec, "headers compressed with " + codec + ".",
                List.of(hdr.copy(codec))));
            cases.add(caseJson("many_records_300x100_" + codec,
                "many_records_300x100 compressed with " + codec + ".", List.of(many.copy(codec))));
        }

        Spec first = new Spec();
        first.baseOffset = 100;
        first.partitionLeaderEpoch = 3;
        first.records.add(new Rec(T0, utf8("a"), utf8("first batch 0")));
        first.records.add(new Rec(T0 + 1, utf8("b"), utf8("first batch 1")));
        Spec second = new Spec();
        second.baseOffset = 102;
        second.partitionLeaderEpoch = 3;
        second.producerId = 77;
        second.producerEpoch = 0;
        second.baseSequence = 0;
        second.records.add(new Rec(T0 + 2, utf8("c"), utf8("second batch 0")));
        second.records.add(new Rec(T0 + 3, null, utf8("second batch 1")));
        second.records.add(new Rec(T0 + 4, utf8("e"), null));
        cases.add(caseJson("two_batches",
            "Two consecutive batches in one MemoryRecords (as a fetch response carries them): offsets "
                + "100-101, then an idempotent batch at 102-104.", List.of(first, second)));

        root.put("cases", cases);
        return root;
    }

    // ---------------------------------------------------------------- tiny JSON writer

    /** Just enough JSON: short containers on one line, long ones one element per line. */
    static final class Json {
        static void write(StringBuilder sb, Object v, int indent) {
            String compact = compact(v);
            if (compact.length() <= 100 || !(v instanceof Map || v instanceof List || v instanceof int[])) {
                sb.append(compact);
                return;
            }
            String pad = "  ".repeat(indent + 1);
            if (v instanceof Map) {
                sb.append("{\n");
                boolean firstEntry = true;
                for (Map.Entry<?, ?> en : ((Map<?, ?>) v).entrySet()) {
                    if (!firstEntry) sb.append(",\n");
                    firstEntry = false;
                    sb.append(pad).append(str(en.getKey().toString())).append(": ");
                    write(sb, en.getValue(), indent + 1);
                }
                sb.append('\n').append("  ".repeat(indent)).append('}');
            } else {
                List<?> l = v instanceof int[] ? boxed((int[]) v) : (List<?>) v;
                sb.append("[\n");
                for (int i = 0; i < l.size(); i++) {
                    if (i > 0) sb.append(",\n");
                    sb.append(pad);
                    write(sb, l.get(i), indent + 1);
                }
                sb.append('\n').append("  ".repeat(indent)).append(']');
            }
        }

        static List<Integer> boxed(int[] a) {
            List<Integer> l = new ArrayList<>();
            for (int x : a) l.add(x);
            return l;
        }

        static String compact(Object v) {
            if (v == null) return "null";
            if (v instanceof String) return str((String) v);
            if (v instanceof Number || v instanceof Boolean) return v.toString();
            if (v instanceof int[]) return compact(boxed((int[]) v));
            StringBuilder sb = new StringBuilder();
            if (v instanceof Map) {
                sb.append('{');
                boolean firstEntry = true;
                for (Map.Entry<?, ?> en : ((Map<?, ?>) v).entrySet()) {
                    if (!firstEntry) sb.append(", ");
                    firstEntry = false;
                    sb.append(str(en.getKey().toString())).append(": ").append(compact(en.getValue()));
                }
                return sb.append('}').toString();
            }
            if (v instanceof List) {
                sb.append('[');
                List<?> l = (List<?>) v;
                for (int i = 0; i < l.size(); i++) {
                    if (i > 0) sb.append(", ");
                    sb.append(compact(l.get(i)));
                }
                return sb.append(']').toString();
            }
            throw new IllegalArgumentException("not JSON: " + v.getClass());
        }

        /** A JSON string, ASCII only (non-ASCII as \\u escapes) so the files diff cleanly. */
        static String str(String s) {
            StringBuilder sb = new StringBuilder("\"");
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                if (c == '"') sb.append("\\\"");
                else if (c == '\\') sb.append("\\\\");
                else if (c == '\n') sb.append("\\n");
                else if (c < 0x20 || c > 0x7e) sb.append(String.format("\\u%04x", (int) c));
                else sb.append(c);
            }
            return sb.append('"').toString();
        }
    }
}
