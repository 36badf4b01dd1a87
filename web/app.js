// The demo page: start several downloads, watch them (queued, running,
// paused, done), see what decided whether each can resume, and what they
// take of the browser's storage; reload the tab and see them continue. It
// uses only the public API of resumer.js, and puts text on the page only
// through textContent: URLs, headers and messages come from servers.
import { load, isSupported } from "./resumer.js";

const $ = (sel, root = document) => root.querySelector(sel);
const rows = new Map(); // key → row state
let resumer;
let rowSeq = 0;

function fmtBytes(n) {
  if (n == null) return "?";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

function fmtDuration(s) {
  if (!isFinite(s) || s < 0) return "";
  if (s < 60) return `${Math.ceil(s)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.ceil(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

// label splits a URL into what a person recognises (the file name) and the
// rest (the query, shown quieter).
function label(url) {
  try {
    const u = new URL(url);
    return { name: decodeURIComponent(u.pathname.split("/").pop() || u.host), rest: u.search };
  } catch {
    return { name: url, rest: "" };
  }
}

function setStatus(text) { $("#status").textContent = text; }

// setText sets an element's text only when it changes, so that a live
// region announces changes, not every progress event.
function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

const STATE_TEXT = {
  idle: "idle",
  queued: "queued",
  running: "running",
  paused: "paused",
  "locked-elsewhere": "in another tab",
  done: "done",
  failed: "failed",
  interrupted: "interrupted",
  damaged: "damaged",
};

// row returns the row of key, making it if needed.
function row(key, url = key) {
  let r = rows.get(key);
  if (r) return r;
  const el = $("#row").content.firstElementChild.cloneNode(true);
  const id = `dl-${++rowSeq}`;
  el.dataset.key = key;
  const { name, rest } = label(url);
  const nameEl = $(".dl-name", el);
  nameEl.id = `${id}-name`;
  nameEl.textContent = name;
  if (rest) {
    const q = document.createElement("span");
    q.className = "dl-query";
    q.textContent = rest;
    nameEl.append(q);
  }
  nameEl.title = url;
  $(".dl-bar", el).setAttribute("aria-labelledby", nameEl.id);
  const details = $(".dl-details", el);
  details.id = `${id}-details`;
  $(".dl-toggle", el).setAttribute("aria-controls", details.id);
  r = { key, url, el, dl: null, result: null, state: "idle", progress: {}, info: null, error: null, notices: [], open: false };
  el.addEventListener("click", (ev) => {
    const btn = ev.target.closest("button");
    const act = btn && btn.dataset.act;
    if (act) {
      act_(r, act).catch((err) => { r.error = err; render(r); });
      return;
    }
    // A click anywhere on the row but its details and buttons opens them.
    if ((btn && btn.classList.contains("dl-toggle")) || !ev.target.closest(".dl-details, .dl-actions, a, input, button")) {
      toggle(r);
    }
  });
  rows.set(key, r);
  $("#downloads").prepend(el);
  updateEmpty();
  return r;
}

function dropRow(r) {
  if (rows.get(r.key) !== r) return;
  rows.delete(r.key);
  r.el.remove();
  updateEmpty();
}

function updateEmpty() {
  $("#empty").hidden = rows.size > 0;
}

function toggle(r) {
  r.open = !r.open;
  $(".dl-details", r.el).hidden = !r.open;
  $(".dl-toggle", r.el).setAttribute("aria-expanded", String(r.open));
  if (r.open) refresh(); // the stored record: evicted, verified, restarts
  render(r);
}

async function act_(r, act) {
  switch (act) {
    case "pause": r.dl?.pause(); break;
    case "resume": r.dl && r.dl.state === "paused" ? r.dl.resume() : start(r.url, r.key); break;
    case "save": await save(r); break;
    case "check": await checkRow(r); break;
    case "remove":
      await resumer.remove(r.key);
      dropRow(r);
      refresh();
      break;
  }
}

// start downloads url (or resumes it) and follows it in its row.
function start(url, key = url) {
  const r = row(key, url);
  const dl = resumer.download(url, key !== url ? { key } : {});
  if (r.dl === dl) return dl; // already running here: the same Download
  r.error = null;
  r.result = null;
  r.dl = dl;
  let stored = -1;
  dl.onprogress = (p) => {
    r.state = p.state;
    r.progress = p;
    if (p.notice && !r.notices.includes(p.notice)) r.notices.push(p.notice);
    render(r);
    if (p.stored !== stored) {
      stored = p.stored;
      refreshSoon();
    }
  };
  dl.addEventListener("statechange", () => refresh());
  dl.done.then((result) => {
    if (r.dl !== dl) return;
    r.result = result;
    r.state = "done";
    r.progress = { ...r.progress, loaded: result.size, received: result.size, stored: result.size, total: result.size, speed: 0, retryAt: null };
    render(r);
    refresh();
  }, (err) => {
    if (r.dl !== dl) return;
    if (err.code === "aborted") { // removed, or cleared
      dropRow(r);
      return;
    }
    r.state = "failed";
    r.error = err;
    render(r);
    refresh();
  });
  render(r);
  return dl;
}

// facts merges what is known of a download: the result once it finished,
// else the latest progress once the server answered, over the stored record.
function facts(r) {
  const i = r.info || {};
  const res = r.result;
  if (res) return { ...i, ...res, size: res.size };
  const p = r.progress || {};
  const answered = p.decidedBy || p.etag || p.lastModified || p.reason || p.total != null;
  if (!answered) return i;
  return {
    ...i, etag: p.etag, lastModified: p.lastModified, resumable: p.resumable, reason: p.reason, reasonCode: p.reasonCode,
    size: p.total, decidedBy: p.decidedBy || i.decidedBy || null,
  };
}

function render(r) {
  const p = r.progress || {};
  const f = facts(r);
  const el = r.el;
  const total = p.total ?? f.size ?? null;
  const received = p.loaded ?? r.info?.received ?? 0;
  const bar = $(".dl-bar", el);
  if (total) {
    bar.max = total;
    bar.value = received;
  } else if (r.state === "running") {
    bar.removeAttribute("value"); // indeterminate: bytes come, the length is unknown
  } else {
    bar.max = 1;
    bar.value = 0;
  }
  el.dataset.state = r.state;
  el.dataset.stored = String(p.stored ?? r.info?.received ?? 0);
  setText($(".dl-state", el), STATE_TEXT[r.state] || r.state);
  const pct = total ? ` · ${Math.floor((received / total) * 100)} %` : "";
  setText($(".dl-bytes", el), `${fmtBytes(received)} of ${fmtBytes(total)}${pct}`);
  const running = r.state === "running";
  setText($(".dl-speed", el), running && p.speed ? `${fmtBytes(p.speed)}/s` : "");
  let eta = running && p.speed && total ? `${fmtDuration((total - received) / p.speed)} left` : "";
  if (r.state === "queued") eta = "waiting for a free slot";
  if (p.retryAt) eta = `retry ${p.attempt} in ${fmtDuration((p.retryAt - Date.now()) / 1000)} (${p.errorCode})`;
  setText($(".dl-eta", el), eta);

  const decided = f.resumable === true || !!f.reason;
  el.dataset.resumable = decided ? String(f.resumable === true) : "";
  setText($(".dl-reason", el), f.resumable === false && f.reason
    ? `Not resumable: ${f.reason}. If it is interrupted, it starts over from the beginning.`
    : "");

  // A notice that repeats the reason shown above says nothing more.
  let notice = p.notice && !(f.reason && p.notice.includes(f.reason)) ? p.notice : "";
  if (r.state === "locked-elsewhere") {
    notice = "Another tab is downloading this file; this tab shows its progress and takes over if that tab closes.";
  } else if (r.state === "damaged") {
    notice = "The stored copy of this download could not be trusted; resuming starts it over.";
  }
  setText($(".dl-notice", el), notice);
  const err = r.error ?? (p.errorCode && (r.state === "paused" || r.state === "failed") ? { code: p.errorCode, message: p.errorMessage } : null);
  setText($(".dl-error", el), err ? `${err.code}: ${err.message}` : "");
  const has = (...s) => s.includes(r.state);
  $('[data-act="pause"]', el).hidden = !has("running", "queued");
  $('[data-act="resume"]', el).hidden = !(has("paused", "failed", "interrupted", "damaged") || (has("idle") && !r.dl));
  $('[data-act="save"]', el).hidden = !r.result;
  if (r.open) renderDetails(r, f);
}

// renderDetails fills the details panel: what the server sent and what
// resumer concluded from it.
function renderDetails(r, f) {
  const el = r.el;
  const set = (field, text) => setText($(`[data-field="${field}"]`, el), text);
  const decided = f.resumable === true || !!f.reason;
  set("resumable", !decided
    ? "not known yet: the server's first answer decides"
    : f.resumable
      ? "resumable: an interruption continues from the stored bytes"
      : `not resumable: ${f.reason} (${f.reasonCode})`);
  set("etag", f.etag || (decided ? "none sent" : "—"));
  set("lastModified", f.lastModified || (decided ? "none sent" : "—"));
  set("contentType", f.contentType || "—");
  set("size", f.size != null ? `${fmtBytes(f.size)} (${f.size} bytes)` : "not known yet");
  set("verified", r.result
    ? (r.result.verified ? "yes: the bytes matched a digest (Repr-Digest or the integrity option)" : "no digest to check against")
    : f.verified ? "yes" : "checked when it finishes, if the server sends a digest");
  set("evicted", f.evicted ? "yes: the browser removed stored bytes; they are fetched again" : "no");
  set("restarts", f.restarts ? `${f.restarts} (the file changed on the server; stored bytes were discarded)` : "0");
  const s = r.result && r.result.stats;
  set("requests", s ? `${s.requests} requests; ${s.commits} pieces stored (${s.whole} whole, ${s.streamed} streamed)` : "—");
  const notices = [...r.notices];
  if (f.evicted && !notices.length) notices.push("stored bytes were evicted");
  set("notices", notices.length ? notices.join("; ") : "none");
  set("url", f.url || r.url);
  set("headers", proofText(f.decidedBy));
  set("asks", !decided
    ? "The first request asks for the first 64 KiB (Range: bytes=0-65535); its answer decides."
    : f.resumable
      ? "Each request asks for a range (Range) with If-Range naming this version; if the file changed, the server answers 200 with the new file and the download starts over (counted in Restarts)."
      : "The file comes in one request without Range; an interruption starts it over from byte 0.");
}

// showReport draws a check's report: the verdict for browsers and each
// finding with its proof and, where something is wrong, the fixes.
function showReport(verdictEl, list, rep) {
  verdictEl.dataset.browser = rep.browser;
  setText(verdictEl, `${rep.browser}: ${rep.browserText}. iOS URLSession: ${rep.iosText}.`);
  const items = rep.findings.map((f) => {
    const li = document.createElement("li");
    li.dataset.finding = f.id;
    li.dataset.verdict = f.verdict;
    const v = document.createElement("span");
    v.className = "verdict";
    v.textContent = f.verdict;
    li.append(v, ` ${f.id}: ${f.text}`);
    if (f.verdict !== "ok") {
      const pre = document.createElement("pre");
      pre.textContent = f.proof.join("\n");
      li.append(pre);
    }
    // The fix for the server that answered (or for any server) shows;
    // the others are one click away.
    const fix = (x) => Object.assign(document.createElement("p"), { className: "fix", textContent: `Fix (${x.server}): ${x.text}` });
    const mine = f.fix.filter((x) => x.server === rep.server || x.server === "any server");
    const others = f.fix.filter((x) => !mine.includes(x));
    li.append(...mine.map(fix));
    if (others.length) {
      const more = document.createElement("details");
      more.className = "fixes-other";
      const sum = document.createElement("summary");
      sum.textContent = mine.length ? `Fixes for other servers (${others.length})` : `Fixes for each server (${others.length})`;
      more.append(sum, ...others.map(fix));
      li.append(more);
    }
    return li;
  });
  list.replaceChildren(...items);
}

// checkRow checks the URL of a row's download, into its details panel;
// the newest click wins.
async function checkRow(r) {
  const el = $('[data-field="check"]', r.el);
  const list = $(".dl-findings", r.el);
  const seq = r.checkSeq = (r.checkSeq || 0) + 1;
  delete el.dataset.browser;
  setText(el, "Checking…");
  list.replaceChildren();
  try {
    const rep = await resumer.check(r.info?.url || r.url);
    if (seq === r.checkSeq) showReport(el, list, rep);
  } catch (err) {
    if (seq === r.checkSeq) setText(el, `Could not check: ${err.message}`);
  }
}

// checkTyped checks the URL typed into the form, before it is started:
// a download that will not resume is announced before it begins. The
// newest URL wins; an older check that ends later is dropped.
let checkSeq = 0;
async function checkTyped() {
  const input = $("#url");
  const box = $("#check");
  const seq = ++checkSeq;
  let url;
  try {
    const u = new URL(input.value, location.href);
    // A URL still being typed ("https://e") names no file yet.
    if (u.pathname === "/" || u.pathname.endsWith("/")) throw new Error("no file");
    url = u.href;
  } catch {
    box.hidden = true;
    return;
  }
  if (!input.checkValidity() || !resumer) {
    box.hidden = true;
    return;
  }
  box.hidden = false;
  const verdict = $("#check-verdict");
  delete verdict.dataset.browser;
  setText(verdict, "Checking whether it can resume…");
  $("#check-findings").replaceChildren();
  try {
    const rep = await resumer.check(url);
    if (seq !== checkSeq) return;
    box.dataset.url = url;
    showReport(verdict, $("#check-findings"), rep);
    if (rep.browser === "not resumable" || rep.browser === "resumable same-origin only") {
      verdict.textContent = `Will not resume if interrupted: ${rep.browserText}.`;
    }
  } catch (err) {
    if (seq === checkSeq) setText(verdict, `Could not check: ${err.message}`);
  }
}

// proofText writes the exchange that decided resumability as the lines
// went over the wire: what was asked, the status, the deciding headers of
// the answer, and those it lacked.
function proofText(x) {
  if (!x) return "(no answer yet)";
  const line = (h) => `${h.name}: ${h.value}`;
  const out = ["GET", ...x.request.map(line)];
  if (!x.request.length) out.push("(no Range: the whole file)");
  out.push("", `HTTP ${x.status}`, ...x.response.map(line));
  if (x.missing.length) {
    out.push(x.crossOrigin
      ? `(not sent, or not exposed to this page by Access-Control-Expose-Headers: ${x.missing.join(", ")})`
      : `(not sent: ${x.missing.join(", ")})`);
  }
  if (x.url) out.push("", `from ${x.url}`);
  return out.join("\n");
}

// refresh reads the stored records and the storage numbers; calls while
// one runs are folded into one more run after it.
let refreshing = null;
let refreshAgain = false;
let lastRefresh = 0; // performance.now() of the last refreshSoon run
let refreshTimer = 0;

// refreshSoon refreshes for stored bytes that changed: the storage numbers
// follow them a few times a second, however many downloads run.
function refreshSoon() {
  if (refreshTimer) return;
  const wait = Math.max(0, lastRefresh + 300 - performance.now());
  refreshTimer = setTimeout(() => {
    refreshTimer = 0;
    lastRefresh = performance.now();
    refresh();
  }, wait);
}
function refresh() {
  if (refreshing) {
    refreshAgain = true;
    return refreshing;
  }
  refreshing = (async () => {
    do {
      refreshAgain = false;
      try {
        const [entries, usage] = await Promise.all([resumer.list(), resumer.usage()]);
        for (const e of entries) {
          const r = rows.get(e.key);
          if (r) {
            r.info = e;
            render(r);
          }
        }
        showUsage(usage);
      } catch (err) {
        setText($("#storage-text"), `Cannot read the storage: ${err.message}`);
      }
    } while (refreshAgain);
    refreshing = null;
  })();
  return refreshing;
}

// showUsage draws the storage bar: resumer's own bytes always, the site's
// usage against its quota where the browser tells (WebKit does not).
function showUsage(u) {
  const box = $("#storage");
  box.dataset.stored = String(u.stored);
  box.dataset.downloads = String(u.downloads);
  setText($("#storage-text"), u.downloads
    ? `${fmtBytes(u.stored)} stored in ${u.downloads} download${u.downloads === 1 ? "" : "s"}.`
    : "Nothing stored.");
  const bar = $("#storage-bar");
  if (u.usage != null && u.quota) {
    box.dataset.quota = String(u.quota);
    bar.hidden = false;
    bar.max = u.quota;
    bar.high = u.quota * 0.8;
    bar.optimum = 0;
    bar.value = Math.min(u.usage, u.quota);
    const share = (u.usage / u.quota) * 100;
    setText($("#storage-quota"), `This site uses ${fmtBytes(u.usage)} of the ${fmtBytes(u.quota)} the browser allows it (${share < 0.1 && share > 0 ? "< 0.1" : share.toFixed(1)} %).`);
  } else {
    delete box.dataset.quota;
    bar.hidden = true;
    setText($("#storage-quota"), "This browser does not say how much storage it allows.");
  }
}

async function clearAll() {
  const button = $("#clear");
  button.disabled = true;
  try {
    await resumer.clear();
    setStatus("Cleared every download.");
  } catch (err) {
    setStatus(`Clear all: ${err.message}`); // e.g. another tab writes one
  } finally {
    // Rows go with their stored records; one another tab writes stays.
    try {
      const left = new Set((await resumer.list()).map((e) => e.key));
      for (const r of [...rows.values()]) if (!left.has(r.key)) dropRow(r);
    } finally {
      button.disabled = false;
      await refresh();
    }
  }
}

// save writes the finished file to disk: with the File System Access API
// where the browser has it (streaming, no copy in memory), else through a
// download link.
async function save(r) {
  const { blob } = r.result;
  const name = label(r.url).name || "download";
  if (typeof window.showSaveFilePicker === "function") {
    let handle;
    try {
      handle = await window.showSaveFilePicker({ suggestedName: name });
    } catch (err) {
      if (err.name === "AbortError") return;
      throw err;
    }
    const writable = await handle.createWritable();
    await blob.stream().pipeTo(writable);
    return;
  }
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 60_000);
}

async function showSamples() {
  const ul = $("#samples");
  try {
    const resp = await fetch("/files/", { headers: { Accept: "application/json" } });
    if (!resp.ok) throw new Error(`HTTP ${resp.status}`);
    let samples;
    try {
      samples = await resp.json();
    } catch {
      // The parser's message quotes the server's text: never shown.
      throw new Error("the answer is not a sample list");
    }
    if (!Array.isArray(samples)) throw new Error("the answer is not a sample list");
    ul.textContent = "";
    for (const s of samples) {
      const li = document.createElement("li");
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = `${s.name} (${fmtBytes(s.size)})`;
      b.dataset.url = new URL(s.url, location.href).href;
      b.addEventListener("click", () => start(b.dataset.url));
      const d = document.createElement("span");
      d.className = "muted";
      d.textContent = s.desc ? ` ${s.desc}` : "";
      li.append(b, d);
      ul.append(li);
    }
  } catch (err) {
    const li = document.createElement("li");
    li.className = "muted";
    li.textContent = `No sample list here (${err.message}). Type any URL above.`;
    ul.replaceChildren(li);
  }
}

async function main() {
  if (!isSupported()) {
    setStatus("This browser lacks WebAssembly, IndexedDB or fetch streams: resumer cannot run here.");
    return;
  }
  $("#url-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    start(new URL($("#url").value, location.href).href);
  });
  // A URL typed or pasted is checked once the typing pauses.
  let typing = 0;
  $("#url").addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(checkTyped, 400);
  });
  showSamples();
  setStatus("Loading…");
  // ?db=NAME keeps the downloads in another database (the tests use it).
  const db = new URLSearchParams(location.search).get("db") || "resumer";
  resumer = await load({ dbName: db });
  const max = $("#max");
  max.value = String(resumer.maxConcurrent);
  max.addEventListener("change", () => {
    const n = Math.max(0, Math.min(16, Math.floor(Number(max.value)) || 0));
    max.value = String(n);
    resumer.maxConcurrent = n;
  });
  $("#clear").addEventListener("click", () => clearAll());
  // Show what was stored in an earlier visit; resume what was running.
  const stored = await resumer.list();
  stored.sort((a, b) => a.created - b.created);
  let resumed = 0;
  for (const info of stored) {
    const r = row(info.key, info.url);
    r.info = info;
    r.state = info.state;
    if (["running", "interrupted", "idle", "queued"].includes(info.state)) {
      start(info.url, info.key);
      resumed++;
    } else if (info.state === "done") {
      start(info.url, info.key); // resolves at once with the stored file
    } else {
      if (info.errorCode) r.error = { code: info.errorCode, message: info.errorMessage };
      render(r);
    }
  }
  setStatus(resumed ? `Resumed ${resumed} unfinished download${resumed > 1 ? "s" : ""}.` : "");
  await refresh();
  window.demo = { resumer, start, rows, refresh };
  document.body.dataset.ready = "true";
}

main().catch((err) => setStatus(`resumer failed to start: ${err.message}`));
