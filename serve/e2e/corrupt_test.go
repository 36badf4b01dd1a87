//go:build !js && !wasip1

package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/go-resumer/resumer/serve/drive"
)

// damageJS breaks a finished download in IndexedDB the ways storage gets
// broken in the wild: chunk 1 is gone, chunk 3 holds fewer bytes than its
// record says, chunk 5 holds no bytes at all. It returns [start, size] of
// every chunk before the damage.
const damageJS = `(async (db, url) => {
  const idb = await new Promise((res, rej) => { const r = indexedDB.open(db); r.onsuccess = () => res(r.result); r.onerror = () => rej(r.error); });
  const names = [...idb.objectStoreNames].filter((n) => n.startsWith("chunks"));
  const all = [];
  const rtx = idb.transaction(names, "readonly");
  await Promise.all(names.map((n) => new Promise((res) => {
    const r = rtx.objectStore(n).openCursor();
    r.onsuccess = () => {
      const c = r.result;
      if (!c) return res();
      if (c.value.url === url) all.push({ store: n, key: c.key, value: c.value });
      c.continue();
    };
  })));
  all.sort((a, b) => a.value.start - b.value.start);
  const tx = idb.transaction(names, "readwrite");
  tx.objectStore(all[1].store).delete(all[1].key);
  // Chunks hold a Blob, or an ArrayBuffer where the browser cannot store
  // Blobs (WebKit in an ephemeral session): damage either.
  const field = (v) => (v.blob !== undefined ? "blob" : "bytes");
  tx.objectStore(all[3].store).put({ ...all[3].value, [field(all[3].value)]: all[3].value[field(all[3].value)].slice(0, 10) }, all[3].key);
  tx.objectStore(all[5].store).put({ ...all[5].value, [field(all[5].value)]: "not bytes" }, all[5].key);
  await new Promise((res, rej) => { tx.oncomplete = res; tx.onerror = () => rej(tx.error); });
  idb.close();
  return all.map((c) => [c.value.start, c.value.size]);
})(%q, %q)`

// plantJS writes records no version of resumer would: one of an unknown
// schema version (with a bogus chunk), one that is not even an object.
const plantJS = `(async (db, a, b) => {
  const idb = await new Promise((res, rej) => { const r = indexedDB.open(db); r.onsuccess = () => res(r.result); r.onerror = () => rej(r.error); });
  const tx = idb.transaction(["downloads", "chunks"], "readwrite");
  tx.objectStore("downloads").put({ url: a, schema: 99, state: "done", established: true, total: 100, gen: 0 }, a);
  tx.objectStore("chunks").put({ url: a, gen: 0, start: 0, size: 100, bytes: new ArrayBuffer(100) }, [a, 0, 0]);
  tx.objectStore("downloads").put("garbage", b);
  await new Promise((res, rej) => { tx.oncomplete = res; tx.onerror = () => rej(tx.error); });
  idb.close();
  return true;
})(%q, %q, %q)`

func TestDamagedStorageIsRepaired(t *testing.T) {
	forEngines(t, func(t *testing.T, e drive.Engine) {
		p := newPage(t, e, "/blank.html")
		u := fileURL(t, medium, "")
		p.start(u, slowOpts)
		mustSHA(t, p.finish(u))
		before := len(gets(t, u, 1))
		chunks := eval[[][2]int64](p, fmt.Sprintf(damageJS, p.db, u))
		if len(chunks) < 6 {
			t.Fatalf("only %d chunks to damage", len(chunks))
		}
		p.reload()
		p.start(u, slowOpts)
		r := p.finish(u)
		mustSHA(t, r)
		// Exactly the three damaged spans were fetched again, each checked
		// with If-Range.
		g := gets(t, u, before+3)[before:]
		var got []string
		for _, e := range g {
			if e.IfRange == "" || e.Status != 206 {
				t.Fatalf("repair request %s", e.String())
			}
			got = append(got, e.Range)
		}
		var want []string
		for _, i := range []int{1, 3, 5} {
			want = append(want, fmt.Sprintf("bytes=%d-%d", chunks[i][0], chunks[i][0]+chunks[i][1]-1))
		}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Fatalf("repairs %v, want %v", got, want)
		}
		if pr := p.progressOf(u); len(pr.Notices) == 0 || !strings.Contains(pr.Notices[0], "dropped 2 stored chunks") {
			t.Fatalf("notices %q", pr.Notices)
		}
	})
}

func TestUntrustedRecords(t *testing.T) {
	forEngines(t, func(t *testing.T, e drive.Engine) {
		p := newPage(t, e, "/blank.html")
		a := fileURL(t, medium, "which=a")
		b := fileURL(t, medium, "which=b")
		eval[bool](p, fmt.Sprintf(plantJS, p.db, a, b))
		p.reload()
		l := p.list()
		if len(l) != 2 || l[0].State != "damaged" || l[1].State != "damaged" {
			t.Fatalf("list() = %+v; want both records listed as damaged", l)
		}
		for _, u := range []string{a, b} {
			p.start(u, "")
			mustSHA(t, p.finish(u))
		}
		if pr := p.progressOf(a); len(pr.Notices) == 0 || !strings.Contains(pr.Notices[0], "schema version 99") {
			t.Fatalf("notices %q", pr.Notices)
		}
		if l := p.list(); len(l) != 2 || l[0].State != "done" || l[1].State != "done" {
			t.Fatalf("list() = %+v", l)
		}
	})
}
