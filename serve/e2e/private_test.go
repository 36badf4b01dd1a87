//go:build !js && !wasip1

package e2e

import (
	"fmt"
	"slices"
	"testing"

	"github.com/go-resumer/resumer/serve/devserver"
	"github.com/go-resumer/resumer/serve/drive"
)

// privateJS downloads u with an Authorization header, then asks for it in
// every way a page can, with and without that header, and says what each
// answered.
const privateJS = `(async (u, token) => {
  const auth = { Authorization: "Bearer " + token };
  const out = {};
  const r = await R.download(u, { headers: auth }).done;
  out.sha = F.hex(await crypto.subtle.digest("SHA-256", await r.blob.arrayBuffer()));
  out.private = (await R.get(u)).private;
  // The page's own fetch(), through the Service Worker when it controls
  // the page: the network's answer (401 without the header).
  out.plain = await F.answer(await fetch(u));
  out.none = await F.answer(await R.fetch(u));
  out.other = await F.answer(await R.fetch(u, { headers: { Authorization: "Bearer someone-else" } }));
  out.same = await F.answer(await R.fetch(u, { headers: auth }));
  out.responseNone = (await R.response(u)) === undefined;
  out.responseSame = await F.answer(await R.response(u, { headers: auth }));
  out.match = (await R.cache.match(u)) === undefined;
  out.keys = (await R.cache.keys()).map((q) => q.url);
  return out;
})(%q, %q)`

type privateSeen struct {
	SHA          string   `json:"sha"`
	Private      bool     `json:"private"`
	Plain        read     `json:"plain"`
	None         read     `json:"none"`
	Other        read     `json:"other"`
	Same         read     `json:"same"`
	ResponseNone bool     `json:"responseNone"`
	ResponseSame read     `json:"responseSame"`
	Match        bool     `json:"match"`
	Keys         []string `json:"keys"`
}

// TestPrivateFiles: a file downloaded with an Authorization header (the
// dev server answers only that token, 401 otherwise) is answered from
// storage only to a call that brings the same header: resumer.fetch and
// response() without it, or with another, get what the network says (the
// server's log shows each request and its 401); the Service Worker and
// resumer.cache never answer it; and after a reload the same header is
// still answered from storage, with no request.
func TestPrivateFiles(t *testing.T) {
	forEngines(t, func(t *testing.T, e drive.Engine) {
		src, err := env.srv.Path(medium)
		if err != nil {
			t.Fatal(err)
		}
		name := "private-" + testID(t) + ".bin"
		file := serveFile(t, src, name)
		token := randomHex(t)
		armFile(t, name, devserver.MaxArmTimes, "auth="+token)
		// An origin of its own: the worker's registration outlives the
		// test in the browser's profile.
		origin := freshOrigin(t)
		p := openPage(t, e, origin+"/blank.html")
		eval[bool](p, fetchHelpersJS)
		eval[bool](p, swHelpersJS)
		reg := eval[registration](p, fmt.Sprintf(`S.register(%q, 30000)`, p.db))
		if reg.Supported {
			t.Cleanup(func() { _, _ = evalErr[bool](p, `S.unregister()`) })
		} else {
			t.Logf("%s: no navigator.serviceWorker in this session: the page's fetch() goes to the network without one", e)
		}
		u := origin + "/files/" + name

		s := eval[privateSeen](p, fmt.Sprintf(privateJS, u, token))
		if s.SHA != hexSHA(file) || !s.Private {
			t.Fatalf("the download: sha %s, private %v; want %s, private", s.SHA, s.Private, hexSHA(file))
		}
		for what, a := range map[string]read{"the page's fetch()": s.Plain, "resumer.fetch without the header": s.None, "resumer.fetch with another token": s.Other} {
			if a.Status != 401 {
				t.Errorf("%s: %d, want the server's 401", what, a.Status)
			}
		}
		for what, a := range map[string]read{"resumer.fetch with the header": s.Same, "response() with the header": s.ResponseSame} {
			if a.Status != 200 || a.SHA != hexSHA(file) {
				t.Errorf("%s: %d, sha %s; want 200 and the file", what, a.Status, a.SHA)
			}
		}
		if !s.ResponseNone || !s.Match || slices.Contains(s.Keys, u) {
			t.Errorf("answered without credentials: response() %v, cache.match() %v, in cache.keys() %v", !s.ResponseNone, !s.Match, slices.Contains(s.Keys, u))
		}
		// The three refused calls went to the server, and nothing else
		// did after the download.
		log := logOf(t, u, 1)
		var refused, auth int
		last := -1
		for i, l := range log {
			if l.Method != "GET" {
				continue
			}
			if l.Status == 401 {
				refused++
				if l.Auth {
					auth++
				}
				continue
			}
			last = i
		}
		if refused != 3 || auth != 1 {
			t.Fatalf("want three 401s, one of them with a (wrong) Authorization:\n%s", lines(log))
		}
		for _, l := range log[last+1:] {
			if l.Status != 401 {
				t.Fatalf("a request after the download was answered:\n%s", lines(log))
			}
		}

		// A reload: the next page knows the same credentials.
		p.reload()
		eval[bool](p, fetchHelpersJS)
		n := len(logOf(t, u, 1))
		a := eval[read](p, fmt.Sprintf(`R.fetch(%q, {headers: {Authorization: "Bearer %s"}}).then(F.answer)`, u, token))
		if a.Status != 200 || a.SHA != hexSHA(file) {
			t.Fatalf("after a reload, with the header: %d, sha %s; want 200 and the file", a.Status, a.SHA)
		}
		if after := logOf(t, u, n); len(after) != n {
			t.Fatalf("after a reload, the stored file was asked of the network:\n%s", lines(after[n:]))
		}
	})
}
