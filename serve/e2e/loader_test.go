//go:build !js && !wasip1

package e2e

import (
	"fmt"
	"testing"

	"github.com/go-resumer/resumer/serve/drive"
)

// TestLoader: importing resumer.js does no work (resumer.wasm is not
// fetched until load() or preload()), and resumer sets no global on the
// page, however much it runs: its Go glue is a module of its own
// (resumer-go.js), and the Go program's own globals are seen by it alone.
// Hashing runs in a Worker.
func TestLoader(t *testing.T) {
	forEngines(t, func(t *testing.T, e drive.Engine) {
		p := newPage(t, e, "/blank.html")
		// A page resumer never ran in.
		if err := p.tab.Navigate(p.ctx, env.base+"/blank.html?fresh"); err != nil {
			t.Fatal(err)
		}
		type loaded struct {
			Added     []string `json:"added"`     // globals the page gained
			AtImport  int      `json:"atImport"`  // fetches of resumer.wasm right after the import
			AtPreload int      `json:"atPreload"` // and after preload()
			Size      int64    `json:"size"`
			Hashing   string   `json:"hashing"`
			Version   string   `json:"version"`
		}
		u := fileURL(t, small, "")
		got := eval[loaded](p, fmt.Sprintf(`(async (u) => {
		  const wasm = () => performance.getEntriesByType("resource").filter((e) => e.name.endsWith("/resumer.wasm")).length;
		  const before = new Set(Object.getOwnPropertyNames(globalThis));
		  const m = await import("/resumer.js");
		  const out = { atImport: wasm() };
		  await m.preload();
		  out.atPreload = wasm();
		  const R = await m.load({ dbName: "loader-" + Date.now() });
		  out.size = (await R.download(u, { integrity: undefined }).done).size;
		  out.hashing = R.hashing;
		  out.version = m.VERSION;
		  out.added = Object.getOwnPropertyNames(globalThis).filter((k) => !before.has(k));
		  return out;
		})(%q)`, u))
		if len(got.Added) != 0 || got.AtImport != 0 || got.AtPreload != 1 || got.Size != smallSize || got.Hashing != "worker" || got.Version == "" {
			t.Fatalf("loading resumer: %+v; want no global, no fetch at import, one at preload(), the file, hashing in a worker", got)
		}
	})
}
