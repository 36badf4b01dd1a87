// The demo page: start downloads, watch them, reload the tab and see them
// continue. It uses only the public API of resumer.js.
import { load, isSupported } from "./resumer.js";

const $ = (sel, root = document) => root.querySelector(sel);
const rows = new Map(); // URL → row state
let resumer;

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

function label(url) {
  try {
    const u = new URL(url);
    return decodeURIComponent(u.pathname.split("/").pop() || u.host) + (u.search || "");
  } catch {
    return url;
  }
}

function setStatus(text) { $("#status").textContent = text; }

// row returns the row of url, making it if needed.
function row(url) {
  let r = rows.get(url);
  if (r) return r;
  const el = $("#row").content.firstElementChild.cloneNode(true);
  el.dataset.url = url;
  $(".dl-name", el).textContent = label(url);
  $(".dl-name", el).title = url;
  r = { url, el, dl: null, result: null, state: "idle", progress: {}, info: null, error: null };
  el.addEventListener("click", (ev) => {
    const act = ev.target.closest("button")?.dataset.act;
    if (act) act_(r, act).catch((err) => { r.error = err; render(r); });
  });
  rows.set(url, r);
  $("#downloads").prepend(el);
  return r;
}

async function act_(r, act) {
  switch (act) {
    case "pause": r.dl?.pause(); break;
    case "resume": r.dl && r.dl.state === "paused" ? r.dl.resume() : start(r.url); break;
    case "cancel": r.dl?.cancel(); break;
    case "save": await save(r); break;
    case "remove":
      await resumer.remove(r.url);
      rows.delete(r.url);
      r.el.remove();
      break;
  }
}

// start downloads url (or resumes it) and follows it in its row.
function start(url) {
  const r = row(url);
  r.error = null;
  const dl = resumer.download(url);
  r.dl = dl;
  const update = (p) => { r.state = p.state; r.progress = p; render(r); };
  dl.onprogress = update;
  dl.done.then((result) => {
    r.result = result;
    r.state = "done";
    r.progress = { ...r.progress, received: result.size, stored: result.size, total: result.size, speed: 0 };
    render(r);
  }, (err) => {
    if (err.code === "aborted") {
      rows.delete(url);
      r.el.remove();
      return;
    }
    r.state = "failed";
    r.error = err;
    render(r);
  });
  render(r);
  return dl;
}

function render(r) {
  const p = r.progress || {};
  const el = r.el;
  const total = p.total ?? r.info?.size ?? null;
  const received = p.received ?? r.info?.received ?? 0;
  const bar = $(".dl-bar", el);
  if (total) { bar.max = total; bar.value = received; } else { bar.removeAttribute("value"); }
  $(".dl-state", el).textContent = r.state;
  el.dataset.state = r.state;
  $(".dl-bytes", el).textContent = `${fmtBytes(received)} of ${fmtBytes(total)}`;
  const running = r.state === "running";
  $(".dl-speed", el).textContent = running && p.speed ? `${fmtBytes(p.speed)}/s` : "";
  $(".dl-eta", el).textContent = running && p.speed && total ? `${fmtDuration((total - received) / p.speed)} left` : "";
  if (p.retryAt) {
    $(".dl-eta", el).textContent = `retry ${p.attempt} in ${fmtDuration((p.retryAt - Date.now()) / 1000)} (${p.errorCode})`;
  }
  const etag = r.result?.etag ?? p.etag ?? r.info?.etag;
  const lm = r.result?.lastModified ?? p.lastModified ?? r.info?.lastModified;
  $(".dl-validators", el).textContent = etag || lm
    ? `Validators: ${etag ? `ETag ${etag}` : ""}${etag && lm ? " · " : ""}${lm ? `Last-Modified ${lm}` : ""}`
    : "";
  const resumable = r.result?.resumable ?? p.resumable ?? r.info?.resumable;
  const reason = r.result?.reason ?? p.reason ?? r.info?.reason;
  $(".dl-reason", el).textContent = resumable === false && reason ? `Not resumable: ${reason}.` : "";
  let notice = p.notice || "";
  if (r.state === "locked-elsewhere") {
    notice = "Another tab is downloading this file; this tab shows its progress and takes over if that tab closes.";
  } else if (r.state === "damaged") {
    notice = "The stored copy of this download could not be trusted; resuming starts it over.";
  }
  $(".dl-notice", el).textContent = notice;
  const err = r.error ?? (p.errorCode && (r.state === "paused" || r.state === "failed") ? { code: p.errorCode, message: p.errorMessage } : null);
  $(".dl-error", el).textContent = err ? `${err.code}: ${err.message}` : "";
  const has = (s) => r.state === s;
  $('[data-act="pause"]', el).hidden = !has("running");
  $('[data-act="resume"]', el).hidden = !(has("paused") || has("failed") || has("interrupted") || has("damaged"));
  $('[data-act="cancel"]', el).hidden = !(has("running") || has("paused"));
  $('[data-act="save"]', el).hidden = !r.result;
}

// save writes the finished file to disk: with the File System Access API
// where the browser has it (streaming, no copy in memory), else through a
// download link.
async function save(r) {
  const { blob } = r.result;
  const name = label(r.url).replace(/[?#].*$/, "") || "download";
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
      b.textContent = `${s.name} (${fmtBytes(s.size)})`;
      b.addEventListener("click", () => start(new URL(s.url, location.href).href));
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
  showSamples();
  setStatus("Loading…");
  resumer = await load();
  // Show what was stored in an earlier visit; resume what was running.
  const stored = await resumer.list();
  stored.sort((a, b) => a.created - b.created);
  let resumed = 0;
  for (const info of stored) {
    const r = row(info.url);
    r.info = info;
    r.state = info.state;
    if (info.state === "running" || info.state === "interrupted" || info.state === "idle") {
      start(info.url);
      resumed++;
    } else if (info.state === "done") {
      start(info.url); // resolves at once with the stored file
    } else {
      if (info.errorCode) r.error = { code: info.errorCode, message: info.errorMessage };
      render(r);
    }
  }
  setStatus(resumed ? `Resumed ${resumed} unfinished download${resumed > 1 ? "s" : ""}.` : "");
  window.demo = { resumer, start, rows };
}

main().catch((err) => setStatus(`resumer failed to start: ${err.message}`));
