// A game that downloads its level pack in the background while the menu
// is up. The pack's download is kept by resumer: Pause keeps every byte,
// and a reload (or a browser restart) continues where it stopped.
import { load } from "@go-resumer/resumer";

const bar = document.getElementById("bar");
const pause = document.getElementById("pause");
const status = document.getElementById("status");
const link = document.getElementById("file");
const pack = new URL(new URLSearchParams(location.search).get("url") ?? "/levels.pak", location.href).href;

const resumer = await load();
const dl = resumer.download(pack);
pause.disabled = false;
pause.onclick = () => {
  if (dl.state === "paused") dl.resume(); else dl.pause();
};
dl.addEventListener("progress", ({ state, loaded, total }) => {
  if (total) Object.assign(bar, { max: total, value: loaded });
  pause.textContent = state === "paused" ? "Resume" : "Pause";
  status.textContent = state === "running" ? `${loaded} of ${total ?? "?"} bytes` : state;
});
try {
  const { blob, restarts } = await dl.done;
  pause.disabled = true;
  Object.assign(link, { href: URL.createObjectURL(blob), hidden: false });
  status.textContent = `Ready: ${blob.size} bytes${restarts ? `, started over ${restarts} times because the pack changed` : ""}.`;
} catch (err) {
  pause.disabled = true;
  status.textContent = `${err.code}: ${err.message}`;
}
