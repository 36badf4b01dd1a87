//go:build !js && !wasip1

package e2e

import (
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/go-resumer/resumer/serve/devserver"
	"github.com/go-resumer/resumer/serve/drive"
)

// TestOtherOriginCannotDrive: a page on another origin, even one that
// knows the control token, can neither arm a fault, change a file nor read
// the log of the dev server, in every engine.
func TestOtherOriginCannotDrive(t *testing.T) {
	forEngines(t, func(t *testing.T, e drive.Engine) {
		p := openPage(t, e, env.base2+"/blank.html")
		before := fileSHA(t, small)
		tag := "t=" + testID(t)
		type attempt struct {
			Name  string `json:"name"`
			Sent  bool   `json:"sent"`  // fetch resolved (a no-cors request: an opaque answer)
			Read  bool   `json:"read"`  // the page could read the answer
			Error string `json:"error"` // what the browser said instead
		}
		// Each attempt as a page could make it: simple requests the
		// browser sends without asking (no-cors POST, an <img>), and
		// requests that need a preflight (a custom header), with and
		// without the real token.
		got := eval[[]attempt](p, fmt.Sprintf(`(async () => {
		  const base = %q, tok = %q, hdr = %q, tag = %q, out = [];
		  const try1 = async (name, url, init) => {
		    try {
		      const r = await fetch(url, init);
		      let read = false;
		      if (r.type !== "opaque") { await r.text(); read = true; }
		      out.push({ name, sent: true, read });
		    } catch (e) { out.push({ name, sent: false, read: false, error: String(e) }); }
		  };
		  await try1("arm, no-cors", base + "/_control/arm?file=small.bin&status=500&" + tag, { method: "POST", mode: "no-cors" });
		  await try1("change, no-cors", base + "/_control/change?file=small.bin&" + tag, { method: "POST", mode: "no-cors" });
		  await try1("reset, no-cors", base + "/_control/reset?" + tag, { method: "POST", mode: "no-cors" });
		  await try1("log", base + "/_control/log?" + tag, {});
		  await try1("log with token", base + "/_control/log?" + tag, { headers: { [hdr]: tok } });
		  await try1("arm with token", base + "/_control/arm?file=small.bin&status=500&" + tag, { method: "POST", headers: { [hdr]: tok } });
		  await new Promise((res) => { const i = new Image(); i.onload = i.onerror = res; i.src = base + "/files/small.bin?change=0&" + tag; });
		  return out;
		})()`, env.base, env.srv.ControlToken(), devserver.ControlHeader, tag))
		// name → fetch resolves: a no-cors request goes out and comes
		// back opaque; a CORS one fails for want of CORS headers (a simple
		// GET after the server answered it, one with the token header at
		// its preflight, before it is sent).
		want := map[string]bool{
			"arm, no-cors": true, "change, no-cors": true, "reset, no-cors": true,
			"log": false, "log with token": false, "arm with token": false,
		}
		if len(got) != len(want) {
			t.Fatalf("attempts %+v", got)
		}
		for _, a := range got {
			if a.Read {
				t.Errorf("%s: the page read the answer", a.Name)
			}
			if s, ok := want[a.Name]; !ok || a.Sent != s {
				t.Errorf("%s: sent %v (%s), want %v", a.Name, a.Sent, a.Error, s)
			}
		}
		// The server refused what reached it: nothing armed, the file as
		// it was, the <img>'s change= a 400 in the log.
		resp, err := http.Get(env.base + "/files/" + small + "?" + tag + "-check")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || len(body) != smallSize {
			t.Errorf("after the attempts: status %d, %d bytes; want the whole file (nothing armed)", resp.StatusCode, len(body))
		}
		if after := fileSHA(t, small); after != before {
			t.Errorf("small.bin changed: %s, was %s", after, before)
		}
		var img []devserver.LogEntry
		for _, le := range logOf(t, env.base+"/files/"+small+"?change=0&"+tag, 1) {
			if le.Method == "GET" {
				img = append(img, le)
			}
		}
		if len(img) != 1 || img[0].Status != 400 {
			t.Errorf("the <img> request: %+v, want one GET answered 400", img)
		}
	})
}
