package io.mkebackup.gateway.backup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.mkebackup.common.bus.Addresses;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonObject;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The progress hub on a real Vert.x HTTP server with real sockets: a client that stops reading is
 * dropped once its unsent events pass the limit, instead of being buffered without bound, and a
 * stream ends when the token it was opened with ends.
 */
class ProgressHubTest {
  Vertx vertx;
  HttpServer server;
  ProgressHub hub;
  final AtomicReference<Runnable> endSession = new AtomicReference<>();
  final AtomicReference<io.vertx.core.http.HttpServerResponse> heldResponse = new AtomicReference<>();

  @BeforeEach
  void start() throws Exception {
    vertx = Vertx.vertx();
    hub = new ProgressHub((token, onEnd) -> {
      endSession.set(onEnd);
      return () -> { };
    });
    hub.start(vertx).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    server = vertx.createHttpServer().requestHandler(req -> {
      if (req.path().equals("/held")) {
        hub.subscribe("b", req.response(), "t", true);
        heldResponse.set(req.response());
      } else {
        hub.subscribe(ProgressHub.ALL, req.response(), "t");
      }
    })
        .listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @AfterEach
  void stop() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  Socket open() throws Exception {
    return open("/events");
  }

  Socket open(String path) throws Exception {
    Socket s = new Socket();
    s.setReceiveBufferSize(4096);
    s.connect(new java.net.InetSocketAddress("127.0.0.1", server.actualPort()));
    OutputStream out = s.getOutputStream();
    out.write(("GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
    out.flush();
    return s;
  }

  @Test
  void aClientThatStopsReadingIsDroppedNotBuffered() throws Exception {
    try (Socket slow = open()) {
      await().atMost(Duration.ofSeconds(10)).until(() -> hub.streams() == 1);
      // 32 MiB of events to a client that reads nothing: far more than the sockets' buffers hold.
      String padding = "x".repeat(1000);
      for (int i = 0; i < 32 * 1024; i++) {
        vertx.eventBus().publish(Addresses.PROGRESS, new JsonObject().put("backupId", "b").put("kind", "progress")
            .put("message", padding).put("n", i));
      }
      await("the slow client is dropped").atMost(Duration.ofSeconds(20)).until(() -> hub.streams() == 0);
    }
  }

  /**
   * What the server sent, read up to the chunked body's last chunk: the stream ended (the
   * connection may stay open).
   */
  static String readToEnd(Socket client) throws Exception {
    client.setSoTimeout(10_000);
    InputStream in = client.getInputStream();
    StringBuilder all = new StringBuilder();
    byte[] buf = new byte[4096];
    while (all.indexOf("\r\n0\r\n\r\n") < 0) {
      int n = in.read(buf);
      if (n < 0) {
        break;
      }
      all.append(new String(buf, 0, n, StandardCharsets.US_ASCII));
    }
    return all.toString();
  }

  @Test
  void aStreamEndsWhenItsTokenEnds() throws Exception {
    try (Socket client = open()) {
      await().atMost(Duration.ofSeconds(10)).until(() -> hub.streams() == 1 && endSession.get() != null);
      vertx.runOnContext(v -> endSession.get().run());
      assertThat(readToEnd(client)).contains("session ended").endsWith("\r\n0\r\n\r\n");
      assertThat(hub.streams()).isZero();
    }
  }

  /**
   * The backup-events route subscribes, then reads the record again and writes it: an event
   * published in between (CI saw one, from another manager's worker) waits until the record is out.
   */
  @Test
  void aHeldStreamSendsWhatWasPublishedOnlyAfterItsRecord() throws Exception {
    try (Socket client = open("/held")) {
      await().atMost(Duration.ofSeconds(10)).until(() -> hub.streams() == 1 && heldResponse.get() != null);
      vertx.eventBus().publish(Addresses.PROGRESS, new JsonObject().put("backupId", "b").put("kind", "progress")
          .put("n", 1));
      vertx.eventBus().publish(Addresses.PROGRESS, new JsonObject().put("backupId", "b").put("kind", "succeeded"));
      await("both events wait").atMost(Duration.ofSeconds(10)).until(() -> hub.heldEvents() == 2);
      vertx.runOnContext(v -> {
        heldResponse.get().write("event: record\ndata: {}\n\n");
        hub.release("b", heldResponse.get());
      });
      String text = readToEnd(client);
      assertThat(text).contains("event: record", "event: progress", "event: succeeded").endsWith("\r\n0\r\n\r\n");
      assertThat(text.indexOf("event: record")).as(text).isLessThan(text.indexOf("event: progress"));
      assertThat(text.indexOf("event: progress")).isLessThan(text.indexOf("event: succeeded"));
      // The hub lets go of the stream on the event loop just after the last bytes leave it.
      await("the ended stream is let go").atMost(Duration.ofSeconds(10)).until(() -> hub.streams() == 0);
    }
  }
}
