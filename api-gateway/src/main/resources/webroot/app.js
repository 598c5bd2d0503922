// The Backup Admin page: log in, Backup Now, live status of a running backup, history, contents.
// Talks to the same API as curl does; progress comes from the gateway's Server-Sent Events
// (GET /api/ucp/backups/events), read with fetch so the token travels in a header.

const $ = (id) => document.getElementById(id);
const MIN_PASSPHRASE = 12;
const FIELDS = ["fileName", "hostPath", "passphrase", "encrypted", "logFileName", "body"];

let token = sessionStorage.getItem("mke.token");
let events = null;          // AbortController of the progress stream
let running = null;         // {id, createdAt, fileName, node}
let tick = null;

// ---------- formatting ----------
export function bytes(n) {
  if (!n) return "0 B";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? n : n.toFixed(1)) + " " + units[i];
}

export function duration(ms) {
  if (ms < 0 || !isFinite(ms)) return "";
  const s = Math.round(ms / 1000);
  if (s < 60) return s + " s";
  const m = Math.floor(s / 60);
  return m < 60 ? `${m} min ${s % 60} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

const ZERO = "0001-01-01T00:00:00Z";
const when = (t) => (t && t !== ZERO ? t.replace("T", " ").replace(/\.\d+Z$/, "") : "");

// ---------- API ----------
async function api(path, options = {}) {
  const headers = Object.assign({}, options.headers || {});
  if (token) headers["Authorization"] = "Bearer " + token;
  if (options.body) headers["Content-Type"] = "application/json";
  const r = await fetch(path, Object.assign({}, options, { headers }));
  if (r.status === 401 && path !== "/auth/login") {
    logout();
    throw new Error("Your session has ended; log in again.");
  }
  const text = await r.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch (e) { json = null; }
  return { status: r.status, json };
}

// ---------- login ----------
function showLogin() {
  $("app-view").hidden = true;
  $("who").hidden = true;
  $("login-view").hidden = false;
  $("username").focus();
}

function logout() {
  if (token) fetch("/auth/logout", { method: "POST", headers: { Authorization: "Bearer " + token } }).catch(() => {});
  token = null;
  sessionStorage.removeItem("mke.token");
  if (events) events.abort();
  showLogin();
}

$("login-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  $("login-error").textContent = "";
  const r = await api("/auth/login", {
    method: "POST",
    body: JSON.stringify({ username: $("username").value, password: $("password").value }),
  });
  $("password").value = "";
  if (r.status !== 200) {
    $("login-error").textContent = (r.json && r.json.message) || "Login failed (" + r.status + ")";
    return;
  }
  token = r.json.auth_token;
  sessionStorage.setItem("mke.token", token);
  start();
});
$("logout").addEventListener("click", logout);

// ---------- Backup Now ----------
function clearErrors() {
  for (const f of FIELDS) {
    const el = $("error-" + f);
    if (el) el.textContent = "";
    const input = $(f);
    if (input) input.classList.remove("invalid");
  }
  $("form-error").textContent = "";
}

function fieldError(field, message) {
  const el = $("error-" + field) || $("form-error");
  el.textContent = message;
  const input = $(field);
  if (input) { input.classList.add("invalid"); input.focus(); }
}

function passphraseHint() {
  const n = [...$("passphrase").value].length;
  const none = $("noPassphrase").checked;
  $("passphrase").disabled = none;
  const hint = $("passphrase-hint");
  if (none) {
    hint.textContent = "The backup will NOT be encrypted.";
    hint.classList.remove("bad");
  } else if (n > 0 && n < MIN_PASSPHRASE) {
    hint.textContent = `At least ${MIN_PASSPHRASE} characters (${n} so far).`;
    hint.classList.add("bad");
  } else {
    hint.textContent = `At least ${MIN_PASSPHRASE} characters. The archive is encrypted with it (OpenPGP, AES-256); keep it safe, it cannot be recovered.`;
    hint.classList.remove("bad");
  }
}
$("passphrase").addEventListener("input", passphraseHint);
$("noPassphrase").addEventListener("change", passphraseHint);

$("backup-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  clearErrors();
  const body = { includeLogs: $("includeLogs").checked };
  const fileName = $("fileName").value.trim();
  const hostPath = $("hostPath").value.trim();
  if (fileName) body.fileName = fileName;
  if (hostPath) body.hostPath = hostPath;
  if ($("noPassphrase").checked) {
    body.noPassphrase = true;
  } else {
    const p = $("passphrase").value;
    const n = [...p].length;
    if (n < MIN_PASSPHRASE) {
      fieldError("passphrase", n === 0
        ? `Enter a passphrase of at least ${MIN_PASSPHRASE} characters, or choose "No passphrase".`
        : `The passphrase is too short (${n} characters); it needs at least ${MIN_PASSPHRASE}.`);
      return;
    }
    body.passphrase = p;
  }
  $("backup-button").disabled = true;
  try {
    const r = await api("/api/ucp/backup", { method: "POST", body: JSON.stringify(body) });
    if (r.status === 200) {
      $("passphrase").value = "";
      passphraseHint();
      await loadHistory();
      return;
    }
    const message = (r.json && r.json.message) || `The backup was refused (HTTP ${r.status}).`;
    const field = r.json && r.json.field;
    if (r.status === 400 && field && $("error-" + field)) {
      fieldError(field, message);
    } else {
      $("form-error").textContent = message;
    }
  } catch (e) {
    $("form-error").textContent = e.message;
  } finally {
    $("backup-button").disabled = false;
  }
});

// ---------- status of a running backup ----------
function showRunning(record) {
  running = { id: record.id, createdAt: Date.parse(record.created_at), fileName: record.fileName, node: record.nodeLocation };
  $("idle").hidden = true;
  $("running").hidden = false;
  $("running-state").textContent = "IN_PROGRESS";
  $("running-state").className = "badge IN_PROGRESS";
  $("running-file").textContent = record.fileName;
  $("running-node").textContent = record.nodeLocation;
  $("running-outcome").textContent = "";
  $("running-outcome").className = "outcome";
  $("running-progress").className = "bar";
  setProgress(0);
  if (tick) clearInterval(tick);
  tick = setInterval(() => {
    if (running) $("running-elapsed").textContent = duration(Date.now() - running.createdAt);
  }, 500);
}

function setProgress(pct) {
  const v = Math.max(0, Math.min(100, Math.round(pct)));
  $("running-bar").style.width = v + "%";
  $("running-progress").setAttribute("aria-valuenow", String(v));
}

function onEvent(e) {
  if (!running || running.id !== e.backupId) {
    if (e.kind === "started" && e.step === "validation") {
      showRunning({ id: e.backupId, created_at: e.at, fileName: "", nodeLocation: e.node });
      loadHistory();
    } else {
      return;
    }
  }
  $("running-node").textContent = e.node || running.node;
  $("running-step").textContent = e.step + (e.target ? " · " + e.target : "");
  $("running-bytes").textContent = bytes(e.totalBytes) + (e.estimateBytes ? " of about " + bytes(e.estimateBytes) : "");
  if (e.estimateBytes > 0) setProgress(Math.min(99, (100 * e.totalBytes) / e.estimateBytes));
  if (e.kind === "succeeded" || e.kind === "failed") {
    const ok = e.kind === "succeeded";
    setProgress(100);
    $("running-progress").className = ok ? "bar done" : "bar failed";
    $("running-state").textContent = ok ? "SUCCESS" : "FAILED";
    $("running-state").className = "badge " + (ok ? "SUCCESS" : "FAILED");
    $("running-outcome").textContent = ok ? "Backup succeeded." : "Backup failed: " + e.message;
    $("running-outcome").className = "outcome " + (ok ? "SUCCESS" : "FAILED");
    $("running-elapsed").textContent = duration(Date.parse(e.at) - running.createdAt);
    clearInterval(tick);
    tick = null;
    running = null;
    if ($("form-error").textContent.includes("another backup is running")) $("form-error").textContent = "";
    loadHistory();
  }
}

async function followEvents() {
  if (events) events.abort();
  events = new AbortController();
  const signal = events.signal;
  while (!signal.aborted && token) {
    try {
      const r = await fetch("/api/ucp/backups/events", { headers: { Authorization: "Bearer " + token }, signal });
      if (r.status === 401) { logout(); return; }
      const reader = r.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let at;
        while ((at = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, at);
          buffer = buffer.slice(at + 2);
          const data = block.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\n");
          if (data) onEvent(JSON.parse(data));
        }
      }
    } catch (e) {
      if (signal.aborted) return;
    }
    await new Promise((ok) => setTimeout(ok, 2000)); // the manager went away: reconnect
  }
}

// ---------- history ----------
function cell(text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

async function loadHistory() {
  const r = await api("/api/ucp/backups/details");
  if (r.status !== 200) return;
  const body = $("history").querySelector("tbody");
  body.replaceChildren();
  for (const b of r.json) {
    const tr = document.createElement("tr");
    tr.dataset.id = b.id;
    tr.dataset.state = b.backupState;
    const state = document.createElement("td");
    const badge = document.createElement("span");
    badge.className = "badge " + b.backupState;
    badge.textContent = b.backupState;
    state.append(badge);
    tr.append(state, cell(b.nodeLocation), cell(b.fileName, "mono"),
      cell(b.backupState === "SUCCESS" ? bytes(b.archiveBytes) : "", "num"), cell(when(b.created_at)),
      cell(b.completed_at !== ZERO ? duration(Date.parse(b.completed_at) - Date.parse(b.created_at)) : "", "num"),
      cell(b.shortError, "error"));
    const actions = document.createElement("td");
    if (b.backupState === "SUCCESS" && (b.prunedAt || b.archiveOnDisk === false)) {
      // The files are gone: no Contents to look at, and nothing to restore from.
      actions.className = "gone";
      actions.textContent = b.prunedAt ? "removed by retention" : "not on disk";
      actions.title = b.prunedAt ? "Removed by its schedule's retention at " + when(b.prunedAt)
        : "The archive is no longer in " + b.backupPath;
    } else if (b.backupState === "SUCCESS" && b.origin !== "cli") {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "link contents-button";
      button.textContent = "Contents";
      button.addEventListener("click", () => showContents(b));
      actions.append(button);
    }
    tr.append(actions);
    body.append(tr);
  }
  $("history-empty").hidden = r.json.length > 0;
  const inProgress = r.json.find((b) => b.backupState === "IN_PROGRESS");
  if (inProgress && (!running || running.id !== inProgress.id)) showRunning(inProgress);
  if (inProgress && running && running.id === inProgress.id) {
    $("running-file").textContent = inProgress.fileName;
    running.createdAt = Date.parse(inProgress.created_at);
  }
}
$("refresh").addEventListener("click", loadHistory);

// ---------- contents ----------
let contentRows = [];
async function showContents(b) {
  const r = await api(`/api/ucp/backup/${b.id}/contents`);
  const panel = $("contents");
  panel.hidden = false;
  $("contents-title").textContent = "Contents of " + b.fileName;
  if (r.status !== 200) {
    $("contents-summary").textContent = (r.json && r.json.message) || "No contents recorded.";
    contentRows = [];
  } else {
    contentRows = r.json.entries;
    $("contents-summary").textContent = `${r.json.entryCount} entries, as recorded in the archive's metadata at backup time`
      + (r.json.truncated ? ` (the first ${contentRows.length} are shown)` : "") + ".";
  }
  $("contents-filter").value = "";
  renderContents();
  panel.scrollIntoView({ behavior: "smooth" });
}

function renderContents() {
  const q = $("contents-filter").value.trim();
  const body = $("contents-table").querySelector("tbody");
  body.replaceChildren();
  for (const e of contentRows.filter((x) => !q || x.path.includes(q)).slice(0, 5000)) {
    const tr = document.createElement("tr");
    tr.append(cell(e.path, "mono"), cell(e.type === "file" ? bytes(e.size) : e.type, "num"), cell(e.sha256 || "", "mono"));
    body.append(tr);
  }
}
$("contents-filter").addEventListener("input", renderContents);
$("contents-close").addEventListener("click", () => { $("contents").hidden = true; });

// ---------- start ----------
async function start() {
  const me = await api("/api/ucp/session").catch(() => null);
  if (!me || me.status !== 200) {
    if (me && me.status === 403) {
      token = null;
      sessionStorage.removeItem("mke.token");
      $("login-error").textContent = me.json.message;
    }
    showLogin();
    return;
  }
  $("login-view").hidden = true;
  $("app-view").hidden = false;
  $("who").hidden = false;
  $("who-name").textContent = me.json.username;
  $("who-node").textContent = me.json.node;
  passphraseHint();
  await loadHistory();
  followEvents();
}

if (token) start(); else showLogin();
