package io.mkebackup.gateway.backup;

import io.mkebackup.common.BackupException;
import io.mkebackup.common.ErrorCode;
import io.mkebackup.common.bus.Addresses;
import io.mkebackup.common.bus.BackupJob;
import io.mkebackup.common.bus.BusErrors;
import io.mkebackup.common.cluster.BackupCatalog;
import io.mkebackup.common.cluster.CatalogView;
import io.mkebackup.common.record.BackupRecord;
import io.mkebackup.common.record.BackupState;
import io.mkebackup.gateway.ApiErrors;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.logging.Logger;

/**
 * The seed's backup endpoints ({@code POST /api/ucp/backup}, {@code GET /api/ucp/backups},
 * {@code GET /api/ucp/backup/{id}}) and the progress streams ({@code .../events}). The gateway
 * validates and hands the job to a worker over the event bus, its own node's first.
 */
public final class BackupRoutes {
  private static final Logger LOG = Logger.getLogger(BackupRoutes.class.getName());
  /** A worker answers once it holds the lock and saved the record: a few cluster round trips. */
  static final long JOB_REPLY_TIMEOUT_MS = 30_000;

  private final Vertx vertx;
  private final String node;
  private final BackupRequestValidator validator;
  private final BackupCatalog catalog;
  private final ProgressHub hub;

  public BackupRoutes(Vertx vertx, String node, BackupRequestValidator validator, BackupCatalog catalog,
      ProgressHub hub) {
    this.vertx = vertx;
    this.node = node;
    this.validator = validator;
    this.catalog = catalog;
    this.hub = hub;
  }

  /** Mounts the routes; the caller has put body and admin handlers in front of them. */
  public void mount(Router router) {
    router.post("/api/ucp/backup").handler(this::create);
    router.get("/api/ucp/backups").handler(this::list);
    router.get("/api/ucp/backups/events").handler(this::allEvents);
    router.get("/api/ucp/backups/details").handler(this::details);
    router.get("/api/ucp/backup/:id/contents").handler(this::contents);
    router.get("/api/ucp/backup/:id").handler(this::one);
    router.get("/api/ucp/backup/:id/events").handler(this::events);
  }

  private void create(RoutingContext ctx) {
    List<String> ignored = java.util.Collections.synchronizedList(new ArrayList<>());
    // The context belongs to the event loop: take the body here, validate (which touches the disk) on a worker.
    Buffer body = ctx.body().buffer();
    vertx.executeBlocking(() -> validator.validate(body, "api", ignored::addAll), false)
        .andThen(validated -> {
          if (!ignored.isEmpty()) {
            String text = ignoredFields(ignored);
            LOG.warning("POST /api/ucp/backup: " + text);
            ctx.response().putHeader("Warning", "299 - \"" + text + "\"");
          }
        })
        .compose(this::dispatch)
        .onSuccess(reply -> ctx.response()
            .putHeader("Content-Type", "application/json")
            .end(new JsonObject().put("backupId", reply.getString("backupId")).encode()))
        .onFailure(e -> ApiErrors.send(ctx, e));
  }

  /**
   * "ignored unknown fields: a, b" for a Warning header (RFC 7234: a quoted-string) and the log: the
   * keys come from the client, so each is cut short and reduced to printable ASCII with quotes and
   * backslashes escaped, and a long list is cut short too.
   */
  static String ignoredFields(List<String> keys) {
    int shown = Math.min(keys.size(), 20);
    StringBuilder b = new StringBuilder("ignored unknown fields: ");
    for (int i = 0; i < shown; i++) {
      String k = keys.get(i);
      k = k.length() > 64 ? k.substring(0, 61) + "..." : k;
      b.append(i == 0 ? "" : ", ");
      for (char c : k.toCharArray()) {
        b.append(c == '"' || c == '\\' ? "\\" + c : c >= 0x20 && c < 0x7f ? String.valueOf(c) : "?");
      }
    }
    if (keys.size() > shown) {
      b.append(" and ").append(keys.size() - shown).append(" more");
    }
    return b.toString();
  }

  /** This node's worker first; any worker when this node has none; 503 when none answers. */
  Future<JsonObject> dispatch(BackupJob job) {
    DeliveryOptions opts = new DeliveryOptions().setSendTimeout(JOB_REPLY_TIMEOUT_MS);
    JsonObject body = job.toJson();
    if (job.passphrase() != null) {
      job.passphrase().close();
    }
    return vertx.eventBus().<JsonObject>request(Addresses.jobsOn(node), body, opts)
        .recover(e -> noHandlers(e)
            ? vertx.eventBus().<JsonObject>request(Addresses.JOBS, body, opts)
            : Future.failedFuture(e))
        .map(reply -> reply.body())
        .recover(e -> Future.failedFuture(fromBus(e)));
  }

  private static boolean noHandlers(Throwable e) {
    return e instanceof ReplyException r && r.failureType() == ReplyFailure.NO_HANDLERS;
  }

  static BackupException fromBus(Throwable e) {
    if (e instanceof ReplyException r) {
      if (r.failureType() == ReplyFailure.RECIPIENT_FAILURE) {
        return BusErrors.decode(r.getMessage());
      }
      return new BackupException(ErrorCode.WORKER_UNAVAILABLE, r.failureType() == ReplyFailure.TIMEOUT
          ? "no backup worker answered within " + JOB_REPLY_TIMEOUT_MS / 1000 + " s; check the managers' logs and retry"
          : "no backup worker is running in the cluster; start a manager and retry");
    }
    return e instanceof BackupException b ? b : new BackupException(ErrorCode.INTERNAL, String.valueOf(e.getMessage()), e);
  }

  /**
   * {@code GET /api/ucp/backups}: every backup, newest first, as the seed documents it; with
   * {@code limit}, {@code cursor}, {@code state} and {@code node} a page of them, the next page's
   * address in a {@code Link: <...>; rel="next"} header. Read from this member's local copy of the
   * catalog, on the event loop: no cluster round trip, no blocking.
   */
  private void list(RoutingContext ctx) {
    page(ctx, CatalogView.Entry::apiJson, r -> r.toApiJson().encode(), false);
  }

  /**
   * For the Backup Admin page: as {@link #list}, each the seed's record plus
   * {@code archiveBytes}, {@code files}, {@code dataBytes}, {@code origin} ("api", "cli" or
   * "schedule:&lt;id&gt;"), {@code tick} (a scheduled backup's tick, epoch ms), {@code prunedAt}
   * (when retention removed its files), {@code frozenSeconds} (per volume, how long its writers
   * were paused) and, for a successful backup this manager wrote, whether its
   * archive is still on disk ({@code archiveOnDisk}; absent when this manager cannot tell).
   */
  private void details(RoutingContext ctx) {
    page(ctx, CatalogView.Entry::detailsJson, r -> r.toDetailsJson().encode(), true);
  }

  /**
   * Renders a page of the local copy. The copy may trail a change made on another member by a few
   * milliseconds, so a backup it still shows IN_PROGRESS is read again from the cluster map: a
   * client told by an event that a backup ended never lists it as running (the page would show
   * it running again).
   */
  private void page(RoutingContext ctx, java.util.function.Function<CatalogView.Entry, String> form,
      java.util.function.Function<BackupRecord, String> fresh, boolean onDisk) {
    CatalogView.Page page;
    try {
      page = catalog.view().page(CatalogView.Query.parse(ctx.request().getParam("limit"),
          ctx.request().getParam("cursor"), ctx.request().getParam("state"), ctx.request().getParam("node")));
    } catch (BackupException e) {
      ApiErrors.send(ctx, e);
      return;
    }
    List<CatalogView.Entry> running = page.entries().stream()
        .filter(e -> e.record().state() == BackupState.IN_PROGRESS).toList();
    if (running.isEmpty()) {
      withDisk(ctx, page, form, Map.of(), onDisk);
      return;
    }
    Map<String, java.util.Optional<BackupRecord>> latest = new java.util.concurrent.ConcurrentHashMap<>();
    java.util.concurrent.CompletableFuture<?>[] reads = running.stream().map(e -> catalog.getAsync(e.record().id())
        .thenAccept(r -> latest.put(e.record().id(), r)).toCompletableFuture())
        .toArray(java.util.concurrent.CompletableFuture[]::new);
    Future.fromCompletionStage(java.util.concurrent.CompletableFuture.allOf(reads), vertx.getOrCreateContext())
        .onComplete(done -> {
          Map<String, String> replaced = new java.util.HashMap<>();
          if (done.succeeded()) {
            latest.forEach((id, r) -> replaced.put(id, r.map(fresh).orElse(null)));
          }
          // (when a read fails the copy's version is shown: the list still answers)
          withDisk(ctx, page, form, replaced, onDisk);
        });
  }

  /**
   * Renders, with {@code onDisk} after looking (on a worker: the share may be slow) whether the
   * archives of this node's successful, unpruned backups are still there.
   */
  private void withDisk(RoutingContext ctx, CatalogView.Page page,
      java.util.function.Function<CatalogView.Entry, String> form, Map<String, String> replaced, boolean onDisk) {
    List<BackupRecord> here = onDisk ? page.entries().stream().map(CatalogView.Entry::record)
        .filter(r -> r.state() == BackupState.SUCCESS && r.prunedAt() == null && node.equals(r.nodeLocation())
            && !r.backupPath().isEmpty() && !r.fileName().isEmpty()).toList() : List.of();
    if (here.isEmpty()) {
      render(ctx, page, form, replaced, Map.of());
      return;
    }
    vertx.executeBlocking(() -> {
      Map<String, Boolean> found = new java.util.HashMap<>();
      for (BackupRecord r : here) {
        try {
          found.put(r.id(), java.nio.file.Files.isRegularFile(java.nio.file.Path.of(r.backupPath(), r.fileName())));
        } catch (java.nio.file.InvalidPathException cannotTell) {
          // left out: the page offers what it did before
        }
      }
      return found;
    }, false).onComplete(looked -> render(ctx, page, form, replaced, looked.succeeded() ? looked.result() : Map.of()));
  }

  /**
   * @param replaced newer forms by id; a null form leaves the entry out (removed meanwhile)
   * @param onDisk whether each listed backup's archive is on disk, by id, for those looked at
   */
  private static void render(RoutingContext ctx, CatalogView.Page page,
      java.util.function.Function<CatalogView.Entry, String> form, Map<String, String> replaced,
      Map<String, Boolean> onDisk) {
    Buffer body = Buffer.buffer(page.entries().size() * 320 + 2).appendByte((byte) '[');
    boolean first = true;
    for (CatalogView.Entry e : page.entries()) {
      String id = e.record().id();
      String json = replaced.containsKey(id) ? replaced.get(id) : form.apply(e);
      if (json == null) {
        continue;
      }
      if (onDisk.containsKey(id)) {
        json = new JsonObject(json).put("archiveOnDisk", onDisk.get(id)).encode();
      }
      if (!first) {
        body.appendByte((byte) ',');
      }
      first = false;
      body.appendString(json);
    }
    body.appendByte((byte) ']');
    if (page.next() != null) {
      ctx.response().putHeader("Link", "<" + ctx.request().path() + "?" + nextQuery(ctx, page.next())
          + ">; rel=\"next\"");
    }
    ctx.response().putHeader("Content-Type", "application/json").end(body);
  }

  /** The request's query with the cursor replaced. */
  private static String nextQuery(RoutingContext ctx, String cursor) {
    StringBuilder q = new StringBuilder();
    for (String name : List.of("limit", "state", "node")) {
      String v = ctx.request().getParam(name);
      if (v != null) {
        q.append(name).append('=').append(java.net.URLEncoder.encode(v, java.nio.charset.StandardCharsets.UTF_8))
            .append('&');
      }
    }
    return q.append("cursor=").append(cursor).toString();
  }

  /**
   * A finished backup's entries (path, type, size, SHA-256) as its metadata recorded them at
   * backup time, so no passphrase is needed: {@code {"backupId","entryCount","truncated","entries"}}.
   */
  private void contents(RoutingContext ctx) {
    String id = ctx.pathParam("id");
    find(id).compose(r -> vertx.executeBlocking(() -> catalog.contents(id), false))
        .compose(c -> c.map(Future::succeededFuture).orElseGet(() -> Future.failedFuture(new BackupException(
            ErrorCode.NOT_FOUND, "backup_id", "backup " + id + " has no recorded contents (only successful backups"
            + " taken by a manager have them)", null))))
        .onSuccess(c -> ctx.response().putHeader("Content-Type", "application/json").end(c.encode()))
        .onFailure(e -> ApiErrors.send(ctx, e));
  }

  private Future<BackupRecord> find(String id) {
    return Future.fromCompletionStage(catalog.getAsync(id), vertx.getOrCreateContext())
        .compose(r -> r.map(Future::succeededFuture).orElseGet(() -> Future.failedFuture(
            new BackupException(ErrorCode.NOT_FOUND, "backup_id", "backup " + id + " not found", null))));
  }

  /**
   * One record. A finished record never changes (its final write is a compare-and-set from
   * IN_PROGRESS), so when this member's copy holds it finished it answers from the copy, encoded
   * once, without a cluster round trip; a running or unknown one is read from the cluster map.
   */
  private void one(RoutingContext ctx) {
    String id = ctx.pathParam("id");
    CatalogView view = catalog.view();
    CatalogView.Entry local = view == null ? null : view.get(id);
    if (local != null && local.record().state() != BackupState.IN_PROGRESS) {
      ctx.response().putHeader("Content-Type", "application/json").end(local.apiJson());
      return;
    }
    find(id)
        .onSuccess(r -> ctx.response().putHeader("Content-Type", "application/json").end(r.toApiJson().encode()))
        .onFailure(e -> ApiErrors.send(ctx, e));
  }

  /**
   * Server-Sent Events for one backup: first its record ({@code event: record}), then each progress
   * event as published; the stream ends after the terminal one (at once if it has already ended).
   */
  private void events(RoutingContext ctx) {
    String id = ctx.pathParam("id");
    // Found first (for a 404), then subscribed, then read again: an end that happens in between is
    // either in the second read or in the stream.
    find(id).compose(found -> {
      if (headOnly(ctx)) {
        return Future.succeededFuture(null);
      }
      // Held: events published while the record is read again wait, so the record comes first.
      hub.subscribe(id, ctx.response(), token(ctx), true);
      return find(id);
    }).onSuccess(r -> {
      if (r == null) {
        return;
      }
      ctx.response().write("event: record\ndata: " + r.toApiJson().encode() + "\n\n");
      if (r.state() == BackupState.IN_PROGRESS) {
        hub.release(id, ctx.response());
      } else {
        ProgressHub.send(ctx.response(), new JsonObject(r.terminalEvent().toMap()).put("node", r.nodeLocation()), true);
        hub.unsubscribe(id, ctx.response());
      }
    }).onFailure(e -> {
      hub.unsubscribe(id, ctx.response());
      ApiErrors.send(ctx, e);
    });
  }

  /** Server-Sent Events for every backup, for dashboards; never ends by itself. */
  private void allEvents(RoutingContext ctx) {
    if (headOnly(ctx)) {
      return;
    }
    hub.subscribe(ProgressHub.ALL, ctx.response(), token(ctx));
    LOG.fine("progress stream opened");
  }

  /**
   * A HEAD request on a stream (routed here as its GET): answered with the stream's headers at
   * once, as a stream without end would keep it waiting.
   */
  private static boolean headOnly(RoutingContext ctx) {
    if (ctx.get(io.mkebackup.gateway.ApiGatewayVerticle.HEAD) == null) {
      return false;
    }
    ctx.response().putHeader("Content-Type", "text/event-stream; charset=utf-8").putHeader("Cache-Control", "no-cache")
        .end();
    return true;
  }

  /**
   * The token the admin guard let through: the stream lives as long as it does (empty for a client
   * bundle's certificate, whose stream lasts as long as its connection).
   */
  private static String token(RoutingContext ctx) {
    return io.mkebackup.gateway.auth.AuthRoutes.bearer(ctx.request().getHeader("Authorization")).orElse("");
  }
}
