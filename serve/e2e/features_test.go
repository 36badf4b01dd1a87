//go:build !js && !wasip1

package e2e

import (
	"fmt"
	"testing"

	"github.com/go-resumer/resumer/serve/drive"
)

// features are the optional browser APIs resumer uses, as a page sees
// them, and how the browser stored a download's chunks.
type features struct {
	Locks     bool     `json:"locks"`     // navigator.locks: one tab writes a download
	Broadcast bool     `json:"broadcast"` // BroadcastChannel: other tabs show its progress
	Estimate  bool     `json:"estimate"`  // navigator.storage.estimate: the quota precheck
	Persist   bool     `json:"persist"`   // navigator.storage.persist
	Persisted any      `json:"persisted"` // what resumer.persisted() resolved to
	Platform  any      `json:"platform"`  // and navigator.storage.persisted(), where there is one
	Forms     []string `json:"forms"`     // how chunks are stored: "blob", or "bytes" where Blobs cannot be
	// ByteStream: fetch bodies are byte streams, which resumer.js reads
	// into one reused buffer (a BYOB reader); elsewhere it takes the
	// stream's chunks.
	ByteStream bool `json:"byteStream"`
}

const featuresJS = `(async (db) => {
  const s = navigator.storage;
  const f = { locks: !!(navigator.locks && navigator.locks.request), broadcast: typeof BroadcastChannel === "function",
    estimate: !!(s && s.estimate), persist: !!(s && s.persist),
    // It never asks the user, so it settles at once, even in Firefox,
    // where persist() at the first download waits for their answer.
    persisted: await R.persisted(),
    platform: s && s.persisted ? await s.persisted() : null,
    byteStream: await fetch(location.href).then((r) => { try { r.body.getReader({ mode: "byob" }).cancel(); return true; } catch { r.body.cancel(); return false; } }) };
  const idb = await new Promise((res, rej) => { const r = indexedDB.open(db); r.onsuccess = () => res(r.result); r.onerror = () => rej(r.error); });
  const names = [...idb.objectStoreNames].filter((n) => n.startsWith("chunks"));
  const tx = idb.transaction(names, "readonly");
  const all = (await Promise.all(names.map((n) => new Promise((res) => { const r = tx.objectStore(n).getAll(); r.onsuccess = () => res(r.result); })))).flat();
  idb.close();
  f.forms = [...new Set(all.map((v) => (v.blob instanceof Blob ? "blob" : v.bytes instanceof ArrayBuffer ? "bytes" : "other")))];
  return f;
})(%q)`

// TestFeatures: in every engine, whatever optional API it lacks, a
// download completes, its chunks are stored one way (Blobs, or their bytes
// where the browser cannot store Blobs), and persisted is a boolean or, in
// a browser that asks the user, pending without holding up the download.
// The log says what each engine has.
func TestFeatures(t *testing.T) {
	forEngines(t, func(t *testing.T, e drive.Engine) {
		p := newPage(t, e, "/blank.html")
		u := fileURL(t, medium, "")
		p.start(u, slowOpts)
		mustSHA(t, p.finish(u))
		f := eval[features](p, fmt.Sprintf(featuresJS, p.db))
		t.Logf("%s: %+v", e, f)
		if len(f.Forms) != 1 || f.Forms[0] == "other" {
			t.Errorf("chunks stored as %v, want all Blobs or all ArrayBuffers", f.Forms)
		}
		if _, ok := f.Persisted.(bool); !ok {
			t.Errorf("persisted() resolved to %v, want a boolean", f.Persisted)
		}
		if want := f.Platform; f.Persisted != want && !(want == nil && f.Persisted == false) {
			t.Errorf("persisted() is %v, navigator.storage.persisted() %v", f.Persisted, want)
		}
	})
}
