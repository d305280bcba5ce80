import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * The Java client as an independent writer for nkafka's tests.
 *
 *   java -cp <kafka-tools classpath>:<classes> NkafkaProduce <bootstrap> <topic> [key=value ...]
 *
 * Reads one JSON record per stdin line, byte fields in base64, null allowed:
 *   {"key":"AAE=","value":"aGk=","headers":[["hdr","dg=="]],"partition":0,"timestamp":1}
 * (header keys are plain JSON strings; partition and timestamp are optional).
 * Sends them all with a KafkaProducer (acks=all unless overridden by key=value producer
 * properties), then prints one line per record, in input order:
 *   {"partition":0,"offset":41,"timestamp":1700000000000}
 * Any failure prints a message on stderr and exits 1, so a test cannot mistake a lost
 * record for success (Kafka's console producer only logs failed sends).
 */
public final class NkafkaProduce {
    public static void main(String[] args) {
        if (args.length < 2) {
            System.err.println("usage: NkafkaProduce <bootstrap> <topic> [key=value ...]");
            System.exit(2);
        }
        try {
            run(args);
        } catch (Throwable e) {
            Throwable cause = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
            System.err.println("NkafkaProduce: " + cause);
            System.exit(1);
        }
    }

    private static void run(String[] args) throws Exception {
        String topic = args[1];
        Properties props = new Properties();
        props.put("bootstrap.servers", args[0]);
        props.put("acks", "all");
        for (int i = 2; i < args.length; i++) {
            int eq = args[i].indexOf('=');
            if (eq <= 0) throw new IllegalArgumentException("expected key=value, got " + args[i]);
            props.put(args[i].substring(0, eq), args[i].substring(eq + 1));
        }
        props.put("key.serializer", ByteArraySerializer.class.getName());
        props.put("value.serializer", ByteArraySerializer.class.getName());

        ObjectMapper json = new ObjectMapper();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        List<Future<RecordMetadata>> sent = new ArrayList<>();
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props)) {
            String line;
            while ((line = in.readLine()) != null) {
                if (line.isBlank()) continue;
                JsonNode node = json.readTree(line);
                Integer partition = node.hasNonNull("partition") ? node.get("partition").asInt() : null;
                Long timestamp = node.hasNonNull("timestamp") ? node.get("timestamp").asLong() : null;
                RecordHeaders headers = new RecordHeaders();
                for (JsonNode header : node.path("headers")) {
                    headers.add(header.get(0).asText(), bytes(header.get(1)));
                }
                sent.add(producer.send(new ProducerRecord<>(
                        topic, partition, timestamp, bytes(node.get("key")), bytes(node.get("value")), headers)));
            }
            producer.flush();
            StringBuilder out = new StringBuilder();
            for (Future<RecordMetadata> future : sent) {
                RecordMetadata md = future.get();
                out.append("{\"partition\":").append(md.partition())
                        .append(",\"offset\":").append(md.offset())
                        .append(",\"timestamp\":").append(md.timestamp()).append("}\n");
            }
            System.out.print(out);
            System.out.flush();
        }
    }

    private static byte[] bytes(JsonNode node) {
        return node == null || node.isNull() ? null : Base64.getDecoder().decode(node.asText());
    }
}
