package io.mkebackup.gateway;

import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
import io.mkebackup.common.bus.Addresses;
import io.mkebackup.common.cluster.BackupCatalog;
import io.mkebackup.gateway.auth.AuthRoutes;
import io.mkebackup.gateway.auth.ClientCertificates;
import io.mkebackup.gateway.auth.SessionWatch;
import io.mkebackup.gateway.auth.TokenStore;
import io.mkebackup.gateway.backup.BackupRequestValidator;
import io.mkebackup.gateway.backup.BackupRoutes;
import io.mkebackup.gateway.backup.ProgressHub;
import io.mkebackup.gateway.backup.ScheduleRoutes;
import io.mkebackup.common.cluster.ScheduleStore;
import io.mkebackup.gateway.tls.ServerCertificate;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.ClientAuth;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.TrustOptions;
import io.vertx.ext.bridge.BridgeEventType;
import io.vertx.ext.bridge.PermittedOptions;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.handler.BodyHandler;
import io.vertx.ext.web.handler.CSPHandler;
import io.vertx.ext.web.handler.HSTSHandler;
import io.vertx.ext.web.handler.XFrameHandler;
import io.vertx.ext.web.handler.StaticHandler;
import io.vertx.ext.web.handler.sockjs.SockJSBridgeOptions;
import io.vertx.ext.web.handler.sockjs.SockJSHandler;
import io.vertx.ext.web.handler.sockjs.SockJSSocket;

/**
 * The api-gateway verticle: HTTPS, login, the MKE backup endpoints, the progress bridges (SSE and
 * a SockJS event-bus bridge that lets authenticated admins receive progress and nothing else).
 * Wiring only.
 */
public final class ApiGatewayVerticle extends VerticleBase {
  /** The OpenAPI document (about 12 KB, read once from the jar). */
  private static final io.vertx.core.buffer.Buffer OPENAPI = openapi();

  private static io.vertx.core.buffer.Buffer openapi() {
    try (var in = ApiGatewayVerticle.class.getResourceAsStream("openapi.yaml")) {
      return io.vertx.core.buffer.Buffer.buffer(in.readAllBytes());
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /**
   * Set in the routing context of a HEAD request that is being answered by its GET route; a route
   * that would stream without end (the progress streams) ends after the headers when it is set.
   */
  public static final String HEAD = "mke-backup.head";

  /** Request bodies above this are refused (400). */
  public static final int BODY_LIMIT = 64 * 1024;
  /** Open HTTPS connections at most; more are closed at once. */
  public static final int MAX_CONNECTIONS = 512;
  /**
   * A connection with nothing sent or received for this long is closed (progress streams send a
   * comment every 20 s, so only dead or stalled clients go).
   */
  public static final int IDLE_TIMEOUT_SECONDS = 60;

  private final GatewayConfig config;
  private final ServerCertificate.Pem certificate;
  private final BackupCatalog catalog;
  private final TokenStore tokens;
  private final ScheduleStore schedules;
  private final Operations operations;
  private ProgressHub hub;
  private SessionWatch sessions;
  private HttpServer server;
  private final java.util.concurrent.atomic.AtomicInteger connections = new java.util.concurrent.atomic.AtomicInteger();

  public ApiGatewayVerticle(GatewayConfig config, ServerCertificate.Pem certificate, BackupCatalog catalog,
      TokenStore tokens, ScheduleStore schedules, Operations operations) {
    this.schedules = schedules;
    this.operations = operations;
    this.config = config;
    this.certificate = certificate;
    this.catalog = catalog;
    this.tokens = tokens;
  }

  @Override
  public Future<?> start() {
    Router router = Router.router(vertx);
    ClientCertificates bundles = config.clientCas().isEmpty() ? null : new ClientCertificates(config.clientCas());
    AuthRoutes auth = new AuthRoutes(vertx, config.users(), tokens, bundles);
    sessions = new SessionWatch(vertx, tokens);
    sessions.start();
    hub = new ProgressHub(sessions);
    BackupRequestValidator validator = new BackupRequestValidator(config.allowedRoots(), config.defaultBackupDir());
    BackupRoutes backups = new BackupRoutes(vertx, config.nodeName(), validator, catalog, hub);

    // Every response, the page's and the API's: no inline script or framing, no MIME sniffing, no
    // referrer leaving the manager, HTTPS only from now on.
    router.route()
        .handler(CSPHandler.create().setDirective("default-src", "'self'").setDirective("script-src", "'self'").setDirective("style-src", "'self'").setDirective("img-src", "'self'")
            .setDirective("connect-src", "'self'").setDirective("object-src", "'none'").setDirective("base-uri", "'none'")
            .setDirective("form-action", "'self'").setDirective("frame-ancestors", "'none'"))
        .handler(XFrameHandler.create(XFrameHandler.DENY))
        .handler(HSTSHandler.create(365L * 24 * 3600, false))
        .handler(ctx -> {
          ctx.response().putHeader("X-Content-Type-Options", "nosniff").putHeader("Referrer-Policy", "no-referrer");
          ctx.next();
        });
    // HEAD wherever GET answers (RFC 9110 9.3.2; health checkers use it): routed as its GET, whose
    // body Vert.x leaves out of a HEAD response. Event streams end after their headers (see HEAD).
    router.route().method(io.vertx.core.http.HttpMethod.HEAD).handler(ctx -> {
      ctx.put(HEAD, true);
      ctx.reroute(io.vertx.core.http.HttpMethod.GET, ctx.request().uri());
    });
    router.get("/_ping").handler(ctx -> ctx.response().putHeader("Content-Type", "text/plain").end("OK"));
    // Readiness: 200 when a backup could run here now, else 503. Anyone learns only that; the
    // checks (versions, endpoints, paths, errors) need an admin token. The report is computed
    // elsewhere and cached, so no number of probes queues work here.
    router.get("/_ready").handler(ctx -> Future.fromCompletionStage(operations.readiness(), vertx.getOrCreateContext())
        .compose(report -> detailed(auth, ctx).map(all -> all ? report
            : new JsonObject().put("ready", report.getBoolean("ready"))))
        .onSuccess(r -> ctx.response().setStatusCode(r.getBoolean("ready") ? 200 : 503)
            .putHeader("Content-Type", "application/json").putHeader("Cache-Control", "no-store").end(r.encode()))
        .onFailure(e -> ApiErrors.send(ctx, e)));
    // Prometheus text format: Vert.x's HTTP and event-bus meters and mke-backup's own.
    router.get("/metrics").handler(ctx -> vertx.executeBlocking(() -> {
      operations.refreshMetrics();
      return null;
    }, false).onComplete(done -> ctx.next()));
    router.get("/metrics").handler(io.vertx.micrometer.PrometheusScrapingHandler.create());
    router.route("/auth/*").handler(BodyHandler.create(false).setBodyLimit(BODY_LIMIT));
    router.route("/api/*").handler(BodyHandler.create(false).setBodyLimit(BODY_LIMIT));
    auth.mount(router);
    // The OpenAPI document of every endpoint; public, like the page.
    router.get("/api/ucp/openapi.yaml").handler(ctx -> ctx.response()
        .putHeader("Content-Type", "application/yaml").end(OPENAPI));
    router.route("/api/ucp/*").handler(auth::requireAdmin);
    router.get("/api/ucp/session").handler(ctx -> {
      TokenStore.Session session = ctx.get(AuthRoutes.SESSION);
      ctx.response().putHeader("Content-Type", "application/json")
          .end(new JsonObject().put("username", session.username()).put("node", config.nodeName()).encode());
    });
    new ScheduleRoutes(vertx, schedules, validator, config.minEvery()).mount(router);
    backups.mount(router);
    router.route("/eventbus/*").subRouter(bridge(auth));
    // The Backup Admin page: plain HTML, CSS and JavaScript modules, no build step.
    // (GET only, HEAD being routed as GET: another method on a known path is a 405, not a 404.)
    router.get("/*").handler(StaticHandler.create("webroot").setCachingEnabled(false)
        .setDefaultContentEncoding("UTF-8"));
    // No route, or not this method: the API answers its JSON errors, the page plain text.
    router.errorHandler(404, ctx -> notRouted(ctx, ErrorCode.NOT_FOUND, "no such endpoint: "));
    router.errorHandler(405, ctx -> notRouted(ctx, ErrorCode.METHOD_NOT_ALLOWED, "method not allowed on "));
    router.route().failureHandler(ctx -> {
      if (ctx.statusCode() == 413) {
        ApiErrors.send(ctx, new BackupException(ErrorCode.REQUEST_TOO_LARGE, "body",
            "body: the request body is larger than " + BODY_LIMIT / 1024 + " KiB", null));
      } else if (ctx.failure() != null) {
        ApiErrors.send(ctx, ctx.failure());
      } else {
        ctx.response().setStatusCode(ctx.statusCode()).end();
      }
    });

    HttpServerOptions options = new HttpServerOptions()
        .setHost(config.bindHost())
        .setPort(config.httpsPort())
        .setSsl(true)
        .setKeyCertOptions(new PemKeyCertOptions()
            .setCertPath(certificate.cert().toString())
            .setKeyPath(certificate.key().toString()))
        .setIdleTimeout(IDLE_TIMEOUT_SECONDS);
    if (bundles != null) {
      // Asked for, not required: browsers and token clients send none. Any certificate passes the
      // handshake; AuthRoutes judges it and answers 401 with the reason (see ClientCertificates).
      options.setClientAuth(ClientAuth.REQUEST).setTrustOptions(TrustOptions.wrap(bundles.trustManager()));
    }
    return hub.start(vertx)
        .compose(v -> vertx.createHttpServer(options).connectionHandler(this::admit).requestHandler(router).listen())
        .onSuccess(s -> server = s);
  }

  private static void notRouted(io.vertx.ext.web.RoutingContext ctx, ErrorCode code, String what) {
    String path = ctx.request().path();
    if (path != null && path.startsWith("/api/")) {
      // The path comes from the client: cut short and reduced to printable ASCII.
      ApiErrors.send(ctx, new BackupException(code, what + ctx.request().method() + " "
          + io.mkebackup.common.io.FileNames.printable(path.length() > 200 ? path.substring(0, 200) + "..." : path)));
    } else {
      int status = ApiErrors.status(code);
      ctx.response().setStatusCode(status).putHeader("Content-Type", "text/plain; charset=utf-8")
          .end(status == 404 ? "Not Found" : "Method Not Allowed");
    }
  }

  /** Closes a connection over {@link #MAX_CONNECTIONS} at once; counts the others until they close. */
  private void admit(io.vertx.core.http.HttpConnection connection) {
    if (connections.incrementAndGet() > MAX_CONNECTIONS) {
      connections.decrementAndGet();
      connection.close();
      return;
    }
    connection.closeHandler(v -> connections.decrementAndGet());
  }

  /** Whether the request carries an admin's token (then readiness shows its checks). */
  private static Future<Boolean> detailed(AuthRoutes auth, io.vertx.ext.web.RoutingContext ctx) {
    String token = AuthRoutes.bearer(ctx.request().getHeader("Authorization")).orElse(null);
    if (token == null) {
      return Future.succeededFuture(false);
    }
    return auth.admin(token).map(s -> true).otherwise(false);
  }

  /**
   * SockJS event-bus bridge: clients may register for {@link Addresses#PROGRESS} with an admin token
   * in the register message's headers ({@code {"auth_token": "..."}}); nothing may be sent in.
   */
  /** Each bridged socket's watches on the tokens it registered with. */
  private final java.util.Map<SockJSSocket, java.util.List<Runnable>> bridged = new java.util.concurrent.ConcurrentHashMap<>();

  private Router bridge(AuthRoutes auth) {
    SockJSBridgeOptions options = new SockJSBridgeOptions()
        .addOutboundPermitted(new PermittedOptions().setAddress(Addresses.PROGRESS));
    return SockJSHandler.create(vertx).bridge(options, event -> {
      if (event.type() == BridgeEventType.REGISTER) {
        JsonObject raw = event.getRawMessage();
        JsonObject headers = raw == null ? null : raw.getJsonObject("headers");
        String token = headers == null ? null : headers.getString("auth_token",
            AuthRoutes.bearer(headers.getString("Authorization")).orElse(null));
        auth.admin(token).onComplete(r -> {
          if (r.succeeded()) {
            // The socket closes when this token is logged out or expires.
            SockJSSocket socket = event.socket();
            Runnable unwatch = sessions.watch(token, socket::close);
            bridged.computeIfAbsent(socket, k -> new java.util.concurrent.CopyOnWriteArrayList<>()).add(unwatch);
          }
          event.complete(r.succeeded());
        });
      } else if (event.type() == BridgeEventType.SOCKET_CLOSED) {
        java.util.List<Runnable> unwatch = bridged.remove(event.socket());
        if (unwatch != null) {
          unwatch.forEach(Runnable::run);
        }
        event.complete(true);
      } else if (event.type() == BridgeEventType.SEND || event.type() == BridgeEventType.PUBLISH) {
        event.complete(false);
      } else {
        event.complete(true);
      }
    });
  }

  /** The port the server listens on (useful when configured as 0). */
  public int actualPort() {
    return server.actualPort();
  }

  @Override
  public Future<?> stop() {
    if (sessions != null) {
      sessions.stop();
    }
    return hub == null ? Future.succeededFuture() : hub.stop();
  }
}
