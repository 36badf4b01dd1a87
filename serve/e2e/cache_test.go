//go:build !js && !wasip1

package e2e

import (
	"fmt"
	"testing"

	"github.com/go-resumer/resumer/serve/drive"
)

// cacheResult is what cacheJS reports.
type cacheResult struct {
	Missing   bool     `json:"missing"`   // match before anything is stored
	Whole     read     `json:"whole"`     // match of the stored file
	Ranged    read     `json:"ranged"`    // match with a Range header
	Put       read     `json:"put"`       // match of what put() stored
	Keys      []string `json:"keys"`      // keys() after both
	Partial   string   `json:"partial"`   // put() of a 206: the error's name
	Deleted   bool     `json:"deleted"`   // delete() of the put entry
	DeletedNo bool     `json:"deletedNo"` // delete() again
	After     []string `json:"after"`     // keys() after the delete
	// A download under a key of the app's (not a URL): keys() lists it by
	// its URL, and delete() of that Request removes it.
	KeyedListed  bool `json:"keyedListed"`
	KeyedDeleted bool `json:"keyedDeleted"`
	KeyedGone    bool `json:"keyedGone"`
}

const cacheJS = `(async (u, putURL) => {
  const c = R.cache;
  const out = {};
  out.missing = (await c.match(u)) === undefined;
  await R.download(u).done;
  out.whole = await F.answer(await c.match(u));
  out.ranged = await F.answer(await c.match(new Request(u, { headers: { Range: "bytes=10-19" } })));
  const body = new Blob(["stored by put(): ", "a Response the app made"], { type: "text/plain" });
  await c.put(putURL, new Response(body, { headers: { "Content-Type": "text/plain", ETag: '"v1"' } }));
  out.put = await F.answer(await c.match(new Request(putURL)));
  out.keys = (await c.keys()).map((r) => r.url).sort();
  try {
    await c.put(putURL + "?partial", new Response("x", { status: 206 }));
    out.partial = "none";
  } catch (e) {
    out.partial = e.name;
  }
  out.deleted = await c.delete(putURL);
  out.deletedNo = await c.delete(putURL);
  out.after = (await c.keys()).map((r) => r.url);
  const keyed = u + (u.includes("?") ? "&" : "?") + "keyed=1";
  const key = "model-" + Math.random().toString(36).slice(2);
  await R.download(keyed, { key }).done;
  const listed = await c.keys();
  out.keyedListed = listed.some((r) => r.url === keyed);
  out.keyedDeleted = await c.delete(listed.find((r) => r.url === keyed) ?? keyed);
  out.keyedGone = (await R.get(key)) === undefined;
  return out;
})(%q, %q)`

// TestCache: resumer.cache behaves as the Cache API a library expects of
// a custom cache: match of nothing is undefined, of a stored download its
// bytes (a Range gets 206), put stores a 200 and refuses a 206, keys lists
// finished entries, delete says whether there was one.
func TestCache(t *testing.T) {
	forEngines(t, func(t *testing.T, e drive.Engine) {
		p := fetchPage(t, e)
		u := fileURL(t, small, "")
		putPath := "/app/put-" + testID(t) + ".txt"
		putURL := env.base + putPath
		r := eval[cacheResult](p, fmt.Sprintf(cacheJS, u, putURL))
		if !r.Missing {
			t.Fatal("match() before any download found something")
		}
		if r.Whole.Status != 200 || r.Whole.SHA != fileSHA(t, small) {
			t.Fatalf("match() of the stored file: %+v", r.Whole)
		}
		if r.Ranged.Status != 206 || r.Ranged.Size != 10 || r.Ranged.Headers["content-range"] != fmt.Sprintf("bytes 10-19/%d", smallSize) {
			t.Fatalf("match() with Range: %+v", r.Ranged)
		}
		const putBody = "stored by put(): a Response the app made"
		if r.Put.Status != 200 || r.Put.Hex != fmt.Sprintf("%x", putBody) || r.Put.Headers["content-type"] != "text/plain" || r.Put.Headers["etag"] != `"v1"` {
			t.Fatalf("match() of what put() stored: %+v", r.Put)
		}
		if len(r.Keys) != 2 || (r.Keys[0] != putURL && r.Keys[1] != putURL) {
			t.Fatalf("keys() = %v, want the download and %s", r.Keys, putURL)
		}
		if r.Partial != "TypeError" {
			t.Fatalf("put() of a 206: %s, want a TypeError", r.Partial)
		}
		if !r.Deleted || r.DeletedNo || len(r.After) != 1 || r.After[0] != u {
			t.Fatalf("delete(): %v then %v, keys after %v; want true, false, [%s]", r.Deleted, r.DeletedNo, r.After, u)
		}
		if !r.KeyedListed || !r.KeyedDeleted || !r.KeyedGone {
			t.Fatalf("a download under a key: in keys() %v, delete() of that Request %v, gone after %v; want all true", r.KeyedListed, r.KeyedDeleted, r.KeyedGone)
		}
		// put() and match() never went to the network for putURL.
		for _, l := range env.srv.Log() {
			if l.Path == putPath {
				t.Fatalf("a request reached the server for the put entry: %+v", l)
			}
		}
	})
}
