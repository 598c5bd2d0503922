package io.mkebackup.worker.source;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.api.KVGrpc;
import io.etcd.jetcd.api.KeyValue;
import io.etcd.jetcd.api.MaintenanceGrpc;
import io.etcd.jetcd.api.PutRequest;
import io.etcd.jetcd.api.RangeRequest;
import io.etcd.jetcd.api.SnapshotRequest;
import io.etcd.jetcd.api.SnapshotResponse;
import io.etcd.jetcd.api.StatusRequest;
import io.etcd.jetcd.api.StatusResponse;
import io.grpc.ChannelCredentials;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.nio.NioEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioSocketChannel;
import io.grpc.netty.shaded.io.netty.util.concurrent.DefaultThreadFactory;
import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A client of one etcd member over jetcd's generated etcd v3 API (gRPC): status, snapshot, and the
 * few key operations the demo and the tests need. One endpoint only, by design: a snapshot is one
 * member's point-in-time state.
 */
public final class EtcdClient implements AutoCloseable {
  private final EtcdEndpoint endpoint;
  private final ManagedChannel channel;
  private final EventLoopGroup loop;

  private EtcdClient(EtcdEndpoint endpoint, ManagedChannel channel, EventLoopGroup loop) {
    this.endpoint = endpoint;
    this.channel = channel;
    this.loop = loop;
  }

  public static EtcdClient connect(EtcdEndpoint endpoint) {
    URI uri;
    try {
      uri = URI.create(endpoint.url());
    } catch (IllegalArgumentException e) {
      throw BackupException.invalid("etcd endpoint", "etcd endpoint '" + endpoint.url() + "' is not a URL");
    }
    if (uri.getHost() == null || uri.getPort() < 0
        || !("http".equals(uri.getScheme()) || "https".equals(uri.getScheme()))) {
      throw BackupException.invalid("etcd endpoint",
          "etcd endpoint '" + endpoint.url() + "' must look like http(s)://host:port");
    }
    ChannelCredentials credentials;
    try {
      credentials = "https".equals(uri.getScheme()) ? EtcdTls.credentials(endpoint) : InsecureChannelCredentials.create();
    } catch (IOException e) {
      throw new BackupException(ErrorCode.ETCD_UNAVAILABLE, "cannot read the etcd TLS files: " + e.getMessage(), e);
    } catch (java.security.GeneralSecurityException e) {
      throw new BackupException(ErrorCode.ETCD_UNAVAILABLE, "the etcd TLS files cannot be used: " + e.getMessage(), e);
    }
    // An event loop of its own, closed with the client: gRPC's shared one outlives its last channel
    // by a second, and a JVM exiting while its thread waits in epoll waits 300 ms for it.
    EventLoopGroup loop = new NioEventLoopGroup(1, new DefaultThreadFactory("mke-backup-etcd", true));
    NettyChannelBuilder builder = NettyChannelBuilder.forAddress(uri.getHost(), uri.getPort(), credentials);
    if (endpoint.authority() != null) {
      builder.overrideAuthority(endpoint.authority());
    }
    ManagedChannel channel = builder
        .eventLoopGroup(loop)
        .channelType(NioSocketChannel.class)
        .maxInboundMessageSize(64 << 20)
        .build();
    return new EtcdClient(endpoint, channel, loop);
  }

  BackupException unavailable(Throwable e) {
    String why = e instanceof StatusRuntimeException s
        ? s.getStatus().getCode() + (s.getStatus().getDescription() == null ? "" : ": " + s.getStatus().getDescription())
        : e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    return new BackupException(ErrorCode.ETCD_UNAVAILABLE, "etcd (ucp-kv) does not answer at " + endpoint.url()
        + " (" + why + "); check that ucp-kv runs and the endpoint and TLS files are right", e);
  }

  private MaintenanceGrpc.MaintenanceBlockingStub maintenance(long seconds) {
    return MaintenanceGrpc.newBlockingStub(channel).withDeadlineAfter(seconds, TimeUnit.SECONDS);
  }

  /** The member's version, database size and revision. */
  public StatusResponse status() {
    try {
      return maintenance(endpoint.timeout().toSeconds()).status(StatusRequest.getDefaultInstance());
    } catch (StatusRuntimeException e) {
      throw unavailable(e);
    }
  }

  /**
   * Streams a snapshot to {@code out}, chunk by chunk as etcd sends them.
   *
   * @return bytes written
   */
  public long snapshot(OutputStream out) throws IOException {
    long total = 0;
    try {
      Iterator<SnapshotResponse> chunks = maintenance(TimeUnit.HOURS.toSeconds(1)).snapshot(SnapshotRequest.getDefaultInstance());
      while (chunks.hasNext()) {
        ByteString blob = chunks.next().getBlob();
        blob.writeTo(out);
        total += blob.size();
      }
    } catch (StatusRuntimeException e) {
      throw unavailable(e);
    }
    return total;
  }

  public void put(String key, String value) {
    try {
      KVGrpc.newBlockingStub(channel).withDeadlineAfter(endpoint.timeout().toSeconds(), TimeUnit.SECONDS)
          .put(PutRequest.newBuilder().setKey(utf8(key)).setValue(utf8(value)).build());
    } catch (StatusRuntimeException e) {
      throw unavailable(e);
    }
  }

  /** Every key under a prefix with its value (for tests and checks on small stores). */
  public List<KeyValue> prefix(String prefix) {
    byte[] end = prefix.getBytes(StandardCharsets.UTF_8).clone();
    end[end.length - 1]++;
    try {
      return KVGrpc.newBlockingStub(channel).withDeadlineAfter(endpoint.timeout().toSeconds(), TimeUnit.SECONDS)
          .range(RangeRequest.newBuilder().setKey(utf8(prefix)).setRangeEnd(ByteString.copyFrom(end)).build())
          .getKvsList();
    } catch (StatusRuntimeException e) {
      throw unavailable(e);
    }
  }

  private static ByteString utf8(String s) {
    return ByteString.copyFrom(s, StandardCharsets.UTF_8);
  }

  @Override
  public void close() {
    channel.shutdownNow();
    try {
      channel.awaitTermination(5, TimeUnit.SECONDS);
      loop.shutdownGracefully(0, 5, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
