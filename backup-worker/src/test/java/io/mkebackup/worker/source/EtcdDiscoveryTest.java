package io.mkebackup.worker.source;

import static org.assertj.core.api.Assertions.assertThat;

import io.mkebackup.common.tls.Certificates;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class EtcdDiscoveryTest {
  @Test
  void theClientPortComesFromEtcdsCommandLine() {
    assertThat(EtcdDiscovery.clientUrl(List.of("/bin/etcd", "--listen-client-urls", "https://0.0.0.0:12379,https://[::]:12379"))
        .getPort()).isEqualTo(12379);
    assertThat(EtcdDiscovery.clientUrl(List.of("etcd", "--listen-client-urls=http://0.0.0.0:4001")).getScheme())
        .isEqualTo("http");
    assertThat(EtcdDiscovery.clientUrl(List.of("etcd", "--name", "x")).toString()).isEqualTo("https://0.0.0.0:2379");
    assertThat(EtcdDiscovery.clientUrl(List.of("etcd", "--listen-client-urls")).getPort()).isEqualTo(2379);
  }

  @Test
  void etcdsCertificateIsCheckedUnderANameItCarries() {
    Certificates.Issued ca = Certificates.rootCa("UCP Cluster Root CA");
    byte[] cert = Certificates.component("ucp-kv", ca, List.of("it1-ucp-kv", "10.0.0.5")).certPem()
        .getBytes(StandardCharsets.US_ASCII);
    assertThat(EtcdDiscovery.authority(cert, "10.0.0.5", "it1-ucp-kv")).isEqualTo("10.0.0.5");
    assertThat(EtcdDiscovery.authority(cert, "172.17.0.3", "it1-ucp-kv")).isEqualTo("it1-ucp-kv");
    assertThat(EtcdDiscovery.authority(cert, "172.17.0.3", "ucp-kv")).isEqualTo("ucp-kv");
    byte[] other = Certificates.component("kv-node", ca, List.of()).certPem().getBytes(StandardCharsets.US_ASCII);
    assertThat(EtcdDiscovery.authority(other, "172.17.0.3", "ucp-kv")).isEqualTo("localhost");
  }
}
