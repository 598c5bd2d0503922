package io.mkebackup.gateway.auth;

import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
import io.mkebackup.gateway.ApiErrors;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * {@code POST /auth/login} and the handler that guards the backup endpoints: a valid
 * {@code Authorization: Bearer <token>}, or an MKE client bundle's certificate (401 otherwise), of
 * an admin (403 otherwise).
 */
public final class AuthRoutes {
  /** Where the guard leaves the caller's session for later handlers. */
  public static final String SESSION = "mke.session";

  private final Vertx vertx;
  private final Map<String, UserAccount> users;
  private final TokenStore tokens;
  private final ClientCertificates clientCertificates;
  /** Concurrent login checks from one client address. */
  static final int PER_ADDRESS = 2;
  /** Concurrent login checks in all. */
  static final int IN_FLIGHT = 64;
  private final Attempts attempts = new Attempts();
  /** Password checks (BCrypt) run here, two at a time, off the pool the rest of the API uses. */
  private final io.vertx.core.WorkerExecutor checks;

  public AuthRoutes(Vertx vertx, List<UserAccount> users, TokenStore tokens) {
    this(vertx, users, tokens, null);
  }

  /** @param clientCertificates judges MKE client bundles; null to accept tokens only */
  public AuthRoutes(Vertx vertx, List<UserAccount> users, TokenStore tokens, ClientCertificates clientCertificates) {
    this.vertx = vertx;
    this.users = users.stream().collect(Collectors.toUnmodifiableMap(UserAccount::username, Function.identity()));
    this.tokens = tokens;
    this.clientCertificates = clientCertificates;
    this.checks = vertx.createSharedWorkerExecutor("mke-backup-login", 2, 30, java.util.concurrent.TimeUnit.SECONDS);
  }

  public void mount(Router router) {
    router.post("/auth/login").handler(this::login);
    router.post("/auth/logout").handler(this::logout);
  }

  /** Ends the session of the token in the Authorization header on every manager (204, even if unknown). */
  private void logout(RoutingContext ctx) {
    Optional<String> token = bearer(ctx.request().getHeader("Authorization"));
    if (token.isEmpty()) {
      ApiErrors.send(ctx, new BackupException(ErrorCode.UNAUTHORIZED,
          "logout needs the token to end: send Authorization: Bearer <auth_token>"));
      return;
    }
    vertx.executeBlocking(() -> {
      tokens.revoke(token.get());
      return null;
    }, false).onSuccess(v -> ctx.response().setStatusCode(204).end()).onFailure(e -> ApiErrors.send(ctx, e));
  }

  private void login(RoutingContext ctx) {
    JsonObject body;
    try {
      body = ctx.body().asJsonObject();
    } catch (DecodeException | ClassCastException e) {
      body = null;
    }
    if (body == null) {
      ApiErrors.send(ctx, BackupException.invalid("body", "body: send a JSON object {\"username\", \"password\"}"));
      return;
    }
    Object username = body.getValue("username");
    Object password = body.getValue("password");
    if (!(username instanceof String) || ((String) username).isEmpty()) {
      ApiErrors.send(ctx, BackupException.invalid("username", "username is required (a string)"));
      return;
    }
    if (!(password instanceof String)) {
      ApiErrors.send(ctx, BackupException.invalid("password", "password is required (a string)"));
      return;
    }
    UserAccount user = users.get(username);
    String name = (String) username;
    String address = clientAddress(ctx);
    if (!attempts.enter(address)) {
      tooMany(ctx, 1, "too many logins from " + address + " at once; wait for the answers and try again");
      return;
    }
    char[] given = ((String) password).toCharArray();
    String pair = TokenStore.pair(name, user != null, address);
    checks.<String>executeBlocking(() -> {
      java.time.Duration wait = tokens.throttled(pair);
      if (!wait.isZero()) {
        java.util.Arrays.fill(given, '\0');
        throw new Throttled(wait);
      }
      boolean ok = Passwords.matches(user == null ? null : user.passwordHash(), given);
      if (!ok) {
        tokens.failed(pair);
        throw new BackupException(ErrorCode.UNAUTHORIZED, "wrong username or password");
      }
      tokens.succeeded(pair);
      return tokens.issue(user);
    }, false).onComplete(done -> attempts.leave(address)).onSuccess(token -> ctx.response()
        .putHeader("Content-Type", "application/json")
        .putHeader("Cache-Control", "no-store")
        .end(new JsonObject().put("auth_token", token).encode()))
        .onFailure(e -> {
          if (e instanceof Throttled t) {
            long seconds = Math.max(1, (t.wait.toMillis() + 999) / 1000);
            tooMany(ctx, seconds, "too many failed logins for " + name + " from " + address + "; try again in "
                + seconds + " s (logins from other addresses are not affected)");
          } else if (e instanceof java.util.concurrent.RejectedExecutionException) {
            tooMany(ctx, 1, "too many logins at once; try again in a second");
          } else {
            ApiErrors.send(ctx, e);
          }
        });
  }

  /** 429 with Retry-After: the client may try again after that many seconds. */
  private static void tooMany(RoutingContext ctx, long seconds, String message) {
    ctx.response().putHeader("Retry-After", String.valueOf(seconds));
    ApiErrors.send(ctx, new BackupException(ErrorCode.TOO_MANY_ATTEMPTS, message));
  }

  /** A pair that failed too often lately; carries no secret. */
  private static final class Throttled extends RuntimeException {
    final java.time.Duration wait;

    Throttled(java.time.Duration wait) {
      super("throttled", null, false, false);
      this.wait = wait;
    }
  }

  /** The peer's IP address (a proxy's X-Forwarded-For is not trusted: anyone can write it). */
  static String clientAddress(RoutingContext ctx) {
    io.vertx.core.net.SocketAddress a = ctx.request().remoteAddress();
    return a == null || a.hostAddress() == null ? "unknown" : a.hostAddress();
  }

  /**
   * Logins being checked now, per client address, on this gateway: one address gets at most
   * {@link #PER_ADDRESS} BCrypt checks at a time and all of them {@link #IN_FLIGHT}, so a flood of
   * guesses can neither queue unbounded work nor keep another address's login waiting long.
   */
  static final class Attempts {
    private final java.util.concurrent.ConcurrentHashMap<String, Integer> perAddress =
        new java.util.concurrent.ConcurrentHashMap<>();
    private final java.util.concurrent.atomic.AtomicInteger total = new java.util.concurrent.atomic.AtomicInteger();

    boolean enter(String address) {
      if (total.incrementAndGet() > IN_FLIGHT) {
        total.decrementAndGet();
        return false;
      }
      boolean[] ok = {false};
      perAddress.compute(address, (k, n) -> {
        int now = n == null ? 0 : n;
        ok[0] = now < PER_ADDRESS;
        return ok[0] ? now + 1 : now;
      });
      if (!ok[0]) {
        total.decrementAndGet();
      }
      return ok[0];
    }

    void leave(String address) {
      perAddress.computeIfPresent(address, (k, n) -> n <= 1 ? null : n - 1);
      total.decrementAndGet();
    }
  }

  /** The token from {@code Authorization: Bearer ...}, if any. */
  public static Optional<String> bearer(String header) {
    if (header == null || !header.regionMatches(true, 0, "Bearer ", 0, 7)) {
      return Optional.empty();
    }
    return Optional.of(header.substring(7).trim());
  }

  /** Resolves a token to an admin session, failing with 401 or 403. */
  public Future<TokenStore.Session> admin(String token) {
    if (token == null || token.isEmpty()) {
      return Future.failedFuture(new BackupException(ErrorCode.UNAUTHORIZED,
          "authentication required: log in with POST /auth/login and send Authorization: Bearer <auth_token>"
              + (clientCertificates == null ? "" : ", or use an MKE client bundle (curl --cert cert.pem --key key.pem)")));
    }
    return Future.fromCompletionStage(tokens.lookupAsync(token), vertx.getOrCreateContext()).compose(s -> {
      if (s.isEmpty()) {
        return Future.failedFuture(new BackupException(ErrorCode.UNAUTHORIZED,
            "the token is invalid or has expired; log in again with POST /auth/login"));
      }
      if (!s.get().admin()) {
        return Future.failedFuture(new BackupException(ErrorCode.FORBIDDEN,
            "user " + s.get().username() + " is not an administrator; backups need an MKE admin"));
      }
      return Future.succeededFuture(s.get());
    });
  }

  /**
   * The session of a client that sent an MKE client bundle's certificate: its user, with the roles
   * this manager's configuration gives that user; a user the configuration no longer has (MKE's way
   * of revoking a bundle) is refused like a certificate of another CA.
   */
  Future<TokenStore.Session> certificateAdmin(List<java.security.cert.Certificate> chain) {
    String name;
    try {
      name = clientCertificates.user(chain);
    } catch (BackupException e) {
      return Future.failedFuture(e);
    }
    UserAccount user = users.get(name);
    if (user == null) {
      return Future.failedFuture(new BackupException(ErrorCode.UNAUTHORIZED, "the client certificate names user '"
          + name.replaceAll("\\p{Cntrl}", "?") + "', who is not a user of this manager (removed?); use the client"
          + " bundle of a current user, or log in"));
    }
    if (!user.admin()) {
      return Future.failedFuture(new BackupException(ErrorCode.FORBIDDEN,
          "user " + user.username() + " is not an administrator; backups need an MKE admin"));
    }
    return Future.succeededFuture(new TokenStore.Session(user.username(), user.roles()));
  }

  /** The client's certificate chain, when it sent one in the TLS handshake. */
  private static Optional<List<java.security.cert.Certificate>> peerCertificates(RoutingContext ctx) {
    try {
      List<java.security.cert.Certificate> chain = ctx.request().connection().peerCertificates();
      return chain == null || chain.isEmpty() ? Optional.empty() : Optional.of(chain);
    } catch (javax.net.ssl.SSLPeerUnverifiedException | RuntimeException none) {
      return Optional.empty();
    }
  }

  /**
   * Route handler: admins pass, everyone else gets 401 or 403. An Authorization header is what the
   * client means to be: its token decides. Without one, a client bundle's certificate does.
   */
  public void requireAdmin(RoutingContext ctx) {
    String authorization = ctx.request().getHeader("Authorization");
    Optional<List<java.security.cert.Certificate>> chain = authorization == null && clientCertificates != null
        ? peerCertificates(ctx) : Optional.empty();
    (chain.isPresent() ? certificateAdmin(chain.get()) : admin(bearer(authorization).orElse(null)))
        .onSuccess(s -> {
          ctx.put(SESSION, s);
          ctx.next();
        })
        .onFailure(e -> ApiErrors.send(ctx, e));
  }
}
