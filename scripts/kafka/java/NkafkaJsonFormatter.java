import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.MessageFormatter;
import org.apache.kafka.common.header.Header;

/**
 * A formatter for Kafka's console consumer (`--formatter NkafkaJsonFormatter`) that prints
 * one JSON object per record, binary-safe.
 *
 * Kafka's DefaultMessageFormatter writes raw bytes between separators and prints a null key
 * or header value as a "null" literal, so arbitrary bytes cannot be told apart from the
 * framing. Here every byte field is base64 and null is JSON null:
 *
 *   {"topic":"t","partition":0,"offset":5,"timestamp":1700000000000,
 *    "timestampType":"CreateTime","leaderEpoch":0,"key":"AAE=","value":null,
 *    "headers":[["aGRy","dg=="],["bnVsbA==",null]]}
 *
 * Header keys are base64 of their UTF-8 bytes, so no JSON string escaping is ever needed
 * (topic names are restricted to [a-zA-Z0-9._-]).
 */
public final class NkafkaJsonFormatter implements MessageFormatter {
    private static final Base64.Encoder B64 = Base64.getEncoder();

    @Override
    public void writeTo(ConsumerRecord<byte[], byte[]> record, PrintStream output) {
        StringBuilder sb = new StringBuilder(128);
        sb.append("{\"topic\":\"").append(record.topic()).append('"');
        sb.append(",\"partition\":").append(record.partition());
        sb.append(",\"offset\":").append(record.offset());
        sb.append(",\"timestamp\":").append(record.timestamp());
        sb.append(",\"timestampType\":\"").append(record.timestampType().name).append('"');
        sb.append(",\"leaderEpoch\":").append(record.leaderEpoch().map(String::valueOf).orElse("null"));
        sb.append(",\"key\":");
        appendBytes(sb, record.key());
        sb.append(",\"value\":");
        appendBytes(sb, record.value());
        sb.append(",\"headers\":[");
        boolean first = true;
        for (Header header : record.headers()) {
            if (!first) sb.append(',');
            first = false;
            sb.append('[');
            appendBytes(sb, header.key().getBytes(StandardCharsets.UTF_8));
            sb.append(',');
            appendBytes(sb, header.value());
            sb.append(']');
        }
        sb.append("]}");
        output.println(sb);
    }

    private static void appendBytes(StringBuilder sb, byte[] bytes) {
        if (bytes == null) {
            sb.append("null");
        } else {
            sb.append('"').append(B64.encodeToString(bytes)).append('"');
        }
    }
}
