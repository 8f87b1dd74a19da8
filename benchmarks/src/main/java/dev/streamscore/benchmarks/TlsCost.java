package dev.streamscore.benchmarks;

import dev.streamscore.proto.security.DevCertificates;
import dev.streamscore.proto.v1.ScoringGrpc;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import org.apache.kafka.common.utils.Utils;

/**
 * What TLS costs {@code Predict}: the {@link ScoringFloor} set-up (the node pinned to core 0, the
 * open-loop load generator to core 1) run plaintext, with TLS, and with TLS plus the bearer-token
 * access check, in alternating order (A B C A B C) in one run, at each rate. Certificates come from
 * {@link DevCertificates} (EC P-256, as {@code streamscore certs init} makes them).
 *
 * <pre>
 * STREAMSCORE_LOG_LEVEL=WARN java -Xmx1g -cp benchmarks/target/streamscore-benchmarks.jar \
 *     dev.streamscore.benchmarks.TlsCost [entities=100000] [seconds=10] [rates=2000] [rounds=2]
 * </pre>
 */
public final class TlsCost {
  private TlsCost() {}

  public static void main(String[] args) throws Exception {
    int entities = args.length > 0 ? Integer.parseInt(args[0]) : 100_000;
    int seconds = args.length > 1 ? Integer.parseInt(args[1]) : 10;
    int[] rates =
        java.util.Arrays.stream((args.length > 2 ? args[2] : "2000").split(","))
            .mapToInt(Integer::parseInt)
            .toArray();
    int rounds = args.length > 3 ? Integer.parseInt(args[3]) : 2;
    Path certs = Files.createTempDirectory("tls-cost");
    try {
      DevCertificates.init(certs.resolve("certs"), List.of(), Clock.systemUTC());
      ScoringFloor.printHeader();
      for (int round = 1; round <= rounds; round++) {
        for (ScoringFloor.Mode mode : ScoringFloor.Mode.values()) {
          try (ScoringFloor.Server server =
              new ScoringFloor.Server(entities, mode, Optional.of(certs.resolve("certs")))) {
            ScoringGrpc.ScoringStub predict = ScoringGrpc.newStub(server.node);
            // Untimed, and long: each mode is a fresh server JVM whose compiler shares the one
            // pinned core (8 s left it compiling: 460-500 CPU us per request, not ~220).
            ScoringFloor.run(
                "warm-up", predict, 3_000, 24, entities, server.from, server.to, false);
            for (int rate : rates) {
              ScoringFloor.run(
                  mode.label(), predict, rate, seconds, entities, server.from, server.to, true);
            }
          }
        }
      }
    } finally {
      Utils.delete(certs.toFile());
    }
  }
}
