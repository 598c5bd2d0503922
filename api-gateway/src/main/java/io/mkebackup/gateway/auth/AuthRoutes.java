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

  public AuthRoutes(Vertx vertx, List<UserAccount> users, TokenStore tokens) {
    this(vertx, users, tokens, null);
  }

  /** @param clientCertificates judges MKE client bundles; null to accept tokens only */
  public AuthRoutes(Vertx vertx, List<UserAccount> users, TokenStore tokens, ClientCertificates clientCertificates) {
    this.vertx = vertx;
    this.users = users.stream().collect(Collectors.toUnmodifiableMap(UserAccount::username, Function.identity()));
    this.tokens = tokens;
    this.clientCertificates = clientCertificates;
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
    char[] given = ((String) password).toCharArray();
    String name = (String) username;
    vertx.executeBlocking(() -> {
      if (tokens.lockedOut(name)) {
        java.util.Arrays.fill(given, '\0');
        throw new BackupException(ErrorCode.TOO_MANY_ATTEMPTS, "too many failed logins for " + name + "; try again in "
            + TokenStore.LOCKOUT.toMinutes() + " minutes");
      }
      boolean ok = Passwords.matches(user == null ? null : user.passwordHash(), given);
      if (!ok) {
        tokens.failed(name);
        throw new BackupException(ErrorCode.UNAUTHORIZED, "wrong username or password");
      }
      tokens.succeeded(name);
      return tokens.issue(user);
    }, false).onSuccess(token -> ctx.response()
        .putHeader("Content-Type", "application/json")
        .putHeader("Cache-Control", "no-store")
        .end(new JsonObject().put("auth_token", token).encode()))
        .onFailure(e -> ApiErrors.send(ctx, e));
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
