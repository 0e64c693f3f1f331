// MirrorMaker 2's own client reading a cluster: which upstream clusters its heartbeat topics name,
// and how many replication hops away one of them is. Run as a single-file program:
//   java -cp "<kafka jars>/*" MirrorHops.java <bootstrap servers> <upstream alias>
// Prints: upstream=<aliases, comma-separated> hops=<n>
import java.util.Map;
import java.util.TreeSet;
import org.apache.kafka.connect.mirror.MirrorClient;

public class MirrorHops {
  public static void main(String[] args) throws Exception {
    // The default replication policy: "<source>.<topic>", as our prefix naming.
    MirrorClient client = new MirrorClient(Map.<String, Object>of("bootstrap.servers", args[0]));
    try {
      String upstream = String.join(",", new TreeSet<>(client.upstreamClusters()));
      System.out.println("upstream=" + upstream + " hops=" + client.replicationHops(args[1]));
    } finally {
      client.close();
    }
  }
}
