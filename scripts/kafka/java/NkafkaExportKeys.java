import java.io.FileInputStream;
import java.io.InputStream;
import java.security.Key;
import java.security.KeyStore;
import java.util.Base64;

/**
 * Prints private keys out of PKCS12 keystores, one base64 PKCS#8 DER line per key, for
 * scripts/kafka/tls.mjs. keytool can make keys and have them signed but never writes a
 * private key out, and Node cannot read PKCS12; with this, the test TLS material needs
 * only the JDK and Node (no openssl). Run in source-file mode:
 *   java NkafkaExportKeys.java <store password> (<keystore.p12> <alias>)...
 */
public class NkafkaExportKeys {
  public static void main(String[] args) throws Exception {
    if (args.length < 3 || args.length % 2 != 1) {
      System.err.println("usage: NkafkaExportKeys <store password> (<keystore.p12> <alias>)...");
      System.exit(2);
    }
    char[] password = args[0].toCharArray();
    for (int i = 1; i < args.length; i += 2) {
      KeyStore store = KeyStore.getInstance("PKCS12");
      try (InputStream in = new FileInputStream(args[i])) {
        store.load(in, password);
      }
      Key key = store.getKey(args[i + 1], password);
      if (key == null || !"PKCS#8".equals(key.getFormat())) {
        throw new IllegalStateException("no PKCS#8 private key " + args[i + 1] + " in " + args[i]);
      }
      System.out.println(Base64.getEncoder().encodeToString(key.getEncoded()));
    }
  }
}
