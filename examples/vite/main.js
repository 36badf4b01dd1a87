// An app that loads big model weights the way ML libraries do, with a
// fetch function, and passes resumer.fetch instead of the global one: the
// weights come whole and checked, and a reload halfway resumes rather than
// starting over. Each start simply asks for the weights again.
import { load } from "@go-resumer/resumer";

const bar = document.getElementById("bar");
const status = document.getElementById("status");
const link = document.getElementById("file");
const weights = new URL(new URLSearchParams(location.search).get("url") ?? "/model.onnx", location.href).href;

try {
  const resumer = await load();
  const response = await resumer.fetch(weights, {
    resumer: {
      onprogress({ loaded, total, state }) {
        if (total) Object.assign(bar, { max: total, value: loaded });
        status.textContent = state === "running" ? `${loaded} of ${total ?? "?"} bytes` : state;
      },
    },
  });
  if (!response.ok) throw new Error(`the server answered ${response.status}`);
  const blob = await response.blob(); // a real app hands response (or these bytes) to its ML library
  Object.assign(link, { href: URL.createObjectURL(blob), hidden: false });
  status.textContent = `Loaded ${blob.size} bytes.`;
} catch (err) {
  status.textContent = `${err.code ?? "error"}: ${err.message}`; // a reload tries again, resuming
}
