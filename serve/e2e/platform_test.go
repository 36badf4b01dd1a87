//go:build !js && !wasip1

package e2e

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/go-resumer/resumer/serve/drive"
)

// TestFetchFailsAsFetch: before a byte of the file is stored, resumer.fetch
// answers what the browser's fetch answers, side by side in the same page:
// the server's error status as that Response (same status, body and URL;
// nothing stored, one request, no retry) and a refused connection as a
// TypeError (with the resumer code network). HEAD gets the answer without
// its body.
func TestFetchFailsAsFetch(t *testing.T) {
	forEngines(t, func(t *testing.T, e drive.Engine) {
		p := fetchPage(t, e)
		type outcome struct {
			Resolved  bool   `json:"resolved"`
			Status    int    `json:"status"`
			OK        bool   `json:"ok"`
			Body      string `json:"body"`
			URL       string `json:"url"`
			Name      string `json:"name"`
			TypeError bool   `json:"typeError"`
			Code      string `json:"code"`
			Cause     string `json:"cause"`
		}
		type side struct {
			Native outcome `json:"native"`
			Ours   outcome `json:"ours"`
			Stored int     `json:"stored"`
		}
		run := func(native, ours, method string) side {
			return eval[side](p, fmt.Sprintf(`(async (native, ours, method) => {
			  const one = async (call) => {
			    try {
			      const r = await F.within(call(), 20000, "an answer");
			      return { resolved: true, status: r.status, ok: r.ok, body: await r.text(), url: r.url };
			    } catch (e) {
			      return { resolved: false, name: e && e.name, typeError: Object.prototype.toString.call(e) === "[object Error]" && e.name === "TypeError", // (not instanceof: Marionette runs this in a sandbox of its own)
			      code: String(e.code ?? ""), cause: e.cause ? e.cause.name : "" };
			    }
			  };
			  const out = {
			    native: await one(() => fetch(native, { method, cache: "no-store" })),
			    ours: await one(() => R.fetch(ours, { method })),
			  };
			  out.stored = (await R.list()).filter((e) => e.url === ours).length;
			  return out;
			})(%q, %q, %q)`, native, ours, method))
		}
		for _, c := range []struct {
			name, file, query, method string
		}{
			{"404", "absent.bin", "", "GET"},
			{"404 to HEAD", "absent.bin", "", "HEAD"},
			{"500", small, "status=500", "GET"},
			{"503 with Retry-After", small, "status=503&retry-after=1", "GET"},
			{"403", small, "status=403", "GET"},
		} {
			t.Run(c.name, func(t *testing.T) {
				native, ours := fileURL(t, c.file, c.query+"&n=native"), fileURL(t, c.file, c.query+"&n=ours")
				got := run(native, ours, c.method)
				n, o := got.Native, got.Ours
				if !n.Resolved || n.OK {
					t.Fatalf("the browser's fetch: %+v; the dev server did not answer an error", n)
				}
				if !o.Resolved || o.Status != n.Status || o.OK != n.OK || o.Body != n.Body {
					t.Fatalf("resumer.fetch %+v; fetch %+v", o, n)
				}
				if want := ours; o.URL != want {
					t.Errorf("resumer.fetch's Response.url %q, want %q", o.URL, want)
				}
				if got.Stored != 0 {
					t.Errorf("%d downloads stored after the error answer", got.Stored)
				}
				if log := gets(t, ours, 1); len(log) != 1 || log[0].Status != n.Status {
					t.Fatalf("resumer.fetch sent %s; want one request, answered %d", lines(log), n.Status)
				}
			})
		}
		t.Run("calls that share a download each get the answer", func(t *testing.T) {
			u := fileURL(t, "absent.bin", "")
			got := eval[[]string](p, fmt.Sprintf(`(async (u) => {
			  const [a, b, h] = await Promise.all([R.fetch(u), R.fetch(u), R.fetch(u, { method: "HEAD" })]);
			  return [a.status + " " + await a.text(), b.status + " " + await b.text(), h.status + " " + await h.text()];
			})(%q)`, u))
			if len(got) != 3 || !strings.HasPrefix(got[0], "404 ") || got[1] != got[0] || got[2] != "404 " {
				t.Fatalf("three calls at once: %q; want the same 404 and body twice, and a 404 without one", got)
			}
		})
		t.Run("refused connection", func(t *testing.T) {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			u := "http://" + l.Addr().String() + "/files/" + small
			l.Close() // nothing listens there now: the connection is refused
			got := run(u, u+"?n=ours", "GET")
			n, o := got.Native, got.Ours
			if n.Resolved || !n.TypeError {
				t.Fatalf("the browser's fetch of a closed port: %+v", n)
			}
			if o.Resolved || !o.TypeError || o.Name != n.Name || o.Code != "network" || o.Cause != "ResumerError" {
				t.Fatalf("resumer.fetch %+v; fetch %+v; want a TypeError with code network, caused by a ResumerError", o, n)
			}
			if got.Stored != 0 {
				t.Errorf("%d downloads stored after the failure", got.Stored)
			}
		})
	})
}

// TestProgressNames: progress says loaded, total and lengthComputable, as
// a ProgressEvent does (received, loaded's old name, still agrees), from
// the Download's first progress to its last event; get(key) finds the
// stored download that list() lists, and nothing under another key.
func TestProgressNames(t *testing.T) {
	forEngines(t, func(t *testing.T, e drive.Engine) {
		p := newPage(t, e, "/blank.html")
		u := fileURL(t, small, "")
		type names struct {
			Initial struct {
				Loaded           *float64 `json:"loaded"`
				LengthComputable *bool    `json:"lengthComputable"`
			} `json:"initial"`
			Events     int                             `json:"events"`
			Disagree   string                          `json:"disagree"`
			Last       struct{ Loaded, Total float64 } `json:"last"`
			Computable bool                            `json:"computable"`
			Got        struct {
				Key, State string
				Size       float64
			} `json:"got"`
			Other bool `json:"other"`
		}
		got := eval[names](p, fmt.Sprintf(`(async (u) => {
		  const dl = R.download(u);
		  const out = { initial: { ...dl.progress }, events: 0, disagree: "" };
		  dl.addEventListener("progress", (ev) => {
		    out.events++;
		    if (ev.loaded !== ev.received || ev.lengthComputable !== (ev.total !== null)) out.disagree = JSON.stringify(ev);
		    out.last = { Loaded: ev.loaded, Total: ev.total };
		    out.computable = ev.lengthComputable;
		  });
		  await dl.done;
		  const e = await R.get(u);
		  out.got = e ? { Key: e.key, State: e.state, Size: e.size } : null;
		  out.other = (await R.get(u + "&other")) === undefined;
		  return out;
		})(%q)`, u))
		if got.Initial.Loaded == nil || *got.Initial.Loaded != 0 || got.Initial.LengthComputable == nil || *got.Initial.LengthComputable {
			t.Errorf("dl.progress before any event: %+v; want loaded 0, lengthComputable false", got.Initial)
		}
		if got.Events == 0 || got.Disagree != "" {
			t.Fatalf("%d events; one where the names disagree: %s", got.Events, got.Disagree)
		}
		if got.Last.Loaded != smallSize || got.Last.Total != smallSize || !got.Computable {
			t.Errorf("the last event: %+v, lengthComputable %v", got.Last, got.Computable)
		}
		if got.Got.Key != u || got.Got.State != "done" || got.Got.Size != smallSize || !got.Other {
			t.Errorf("get(url) gave %+v; get(another key) undefined: %v", got.Got, got.Other)
		}
	})
}

// TestRefreshExpiredLink: a download whose signed link expires mid-way
// (the dev server's expire=: 403 after three requests of a link) asks the
// app's refresh for a fresh one at each 403 and goes on from its stored
// bytes: the file comes out right, and no byte is sent twice. A refresh
// that throws ends the download with http-status 403, its bytes kept.
func TestRefreshExpiredLink(t *testing.T) {
	forEngines(t, func(t *testing.T, e drive.Engine) {
		p := newPage(t, e, "/blank.html")
		// The links of the subtest t: each subtest its own file URL.
		linkOf := func(t *testing.T) func(sig int) string {
			return func(sig int) string { return fileURL(t, medium, fmt.Sprintf("expire=3&sig=%d", sig)) }
		}
		type outcome struct {
			SHA      string   `json:"sha"`
			Code     string   `json:"code"`
			Status   int      `json:"status"`
			Asked    []string `json:"asked"`
			Stored   int64    `json:"stored"`
			Progress []string `json:"notices"`
		}
		run := func(u string, give bool) outcome {
			return eval[outcome](p, fmt.Sprintf(`(async (u, give) => {
			  const out = { asked: [], notices: [] };
			  const dl = R.download(u, { chunkSize: 1 << 20, refresh: async ({ status, url }) => {
			    out.asked.push(status + " " + url);
			    if (!give) throw new Error("signed out");
			    return { url: url.replace(/sig=\d+/, "sig=" + (out.asked.length + 1)) };
			  } });
			  dl.addEventListener("progress", (ev) => { if (ev.notice && !out.notices.includes(ev.notice)) out.notices.push(ev.notice); });
			  try {
			    const r = await dl.done;
			    out.sha = [...new Uint8Array(await crypto.subtle.digest("SHA-256", await r.blob.arrayBuffer()))].map((b) => b.toString(16).padStart(2, "0")).join("");
			  } catch (e) {
			    out.code = e.code; out.status = e.status || 0;
			    out.stored = (await R.get(u))?.received ?? -1;
			  }
			  return out;
			})(%q, %v)`, u, give))
		}
		t.Run("fresh links", func(t *testing.T) {
			link := linkOf(t)
			got := run(link(1), true)
			if got.SHA != fileSHA(t, medium) {
				t.Fatalf("%+v; want the file", got)
			}
			if len(got.Asked) < 2 || got.Asked[0] != "403 "+link(1) {
				t.Fatalf("refresh was asked %q; want at least two fresh links, the first for the 403 of %s", got.Asked, link(1))
			}
			var sent int64
			for sig := 1; sig <= len(got.Asked)+1; sig++ {
				log := gets(t, link(sig), 1)
				for _, g := range log {
					if g.Status/100 == 2 {
						sent += g.Sent
					}
				}
				if sig <= len(got.Asked) && (log[len(log)-1].Status != 403 || !strings.Contains(log[len(log)-1].Fault, "expired")) {
					t.Fatalf("link %d: %s; want its last answer a 403 of an expired link", sig, lines(log))
				}
			}
			if sent != mediumSize {
				t.Fatalf("the server sent %d bytes of the file over %d links, want %d: each byte once", sent, len(got.Asked)+1, int64(mediumSize))
			}
		})
		t.Run("ahead of the stated expiry", func(t *testing.T) {
			// Expires= (CloudFront's) says the link dies in 20 s: within
			// the margin, so a fresh one is asked for before any request.
			u := fileURL(t, medium, fmt.Sprintf("Expires=%d&Signature=s&sig=1", time.Now().Add(20*time.Second).Unix()))
			got := eval[outcome](p, fmt.Sprintf(`(async (u) => {
			  const out = { asked: [] };
			  const dl = R.download(u, { refresh: async ({ status, url }) => {
			    out.asked.push(status + " " + url);
			    return { url: url.replace(/Expires=\d+/, "Expires=" + (Math.floor(Date.now() / 1000) + 3600)).replace("sig=1", "sig=2") };
			  } });
			  const r = await dl.done;
			  out.sha = [...new Uint8Array(await crypto.subtle.digest("SHA-256", await r.blob.arrayBuffer()))].map((b) => b.toString(16).padStart(2, "0")).join("");
			  return out;
			})(%q)`, u))
			if got.SHA != fileSHA(t, medium) || len(got.Asked) != 1 || got.Asked[0] != "0 "+u {
				t.Fatalf("%+v; want the file, after one refresh ahead of the expiry of %s", got, u)
			}
			// Asked for ahead of any refusal: the link still works meanwhile.
			for _, g := range idleLog(t, u) {
				if g.Status == 403 {
					t.Fatalf("the link about to expire was refused: %s", lines(idleLog(t, u)))
				}
			}
		})
		t.Run("no fresh link", func(t *testing.T) {
			link := linkOf(t)
			got := run(link(1), false)
			if got.Code != "http-status" || got.Status != 403 || len(got.Asked) != 1 || got.Stored <= 0 {
				t.Fatalf("%+v; want http-status 403 after one refresh, the bytes kept; the server saw %s", got, lines(idleLog(t, link(1))))
			}
		})
	})
}

// TestErrorShape: a ResumerError says once that it is resumer's, carries
// the exchange that decided it (the status and headers of the answer), and
// the JS exception at its root as its cause: fetch()'s TypeError for a
// refused connection.
func TestErrorShape(t *testing.T) {
	forEngines(t, func(t *testing.T, e drive.Engine) {
		p := newPage(t, e, "/blank.html")
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		refused := "http://" + l.Addr().String() + "/f.bin"
		l.Close()
		type shape struct {
			Name, Code, Message string
			Status              int
			DecidedStatus       int    `json:"decidedStatus"`
			DecidedURL          string `json:"decidedURL"`
			Cause               string `json:"cause"`
		}
		got := eval[[]shape](p, fmt.Sprintf(`(async (absent, refused) => {
		  const one = async (u) => {
		    try { await R.download(u, { retry: { attempts: 1 } }).done; return null; } catch (e) {
		      return { name: e.name, code: e.code, message: e.message, status: e.status || 0,
		        decidedStatus: e.decidedBy ? e.decidedBy.status : 0, decidedURL: e.decidedBy ? e.decidedBy.url : "",
		        cause: e.cause === undefined ? "" : Object.prototype.toString.call(e.cause) + " " + e.cause.name };
		    }
		  };
		  return [await one(absent), await one(refused)];
		})(%q, %q)`, fileURL(t, "absent.bin", ""), refused))
		absent, network := got[0], got[1]
		if absent.Name != "ResumerError" || absent.Code != "http-status" || absent.Status != 404 || absent.DecidedStatus != 404 ||
			absent.DecidedURL == "" || strings.Count(absent.Message, "resumer:") != 1 || !strings.HasPrefix(absent.Message, "resumer: ") {
			t.Errorf("a 404: %+v; want http-status 404 decided by the 404, one prefix", absent)
		}
		if network.Code != "network" || network.DecidedStatus != 0 || !strings.HasSuffix(network.Cause, " TypeError") {
			t.Errorf("a refused connection: %+v; want network, caused by fetch's TypeError", network)
		}
	})
}

// TestDownloadSignal: download(url, {signal}) ends as fetch() ends on an
// abort: done rejects with the signal's reason (the default AbortError, or
// the app's own), the transfer stops (the server's log shows the client
// gone), the bytes stay stored and paused, and the next download() takes
// them up with If-Range; a signal aborted before the call starts nothing.
func TestDownloadSignal(t *testing.T) {
	forEngines(t, func(t *testing.T, e drive.Engine) {
		p := fetchPage(t, e)
		type outcome struct {
			Name    string `json:"name"`
			Same    bool   `json:"same"`
			State   string `json:"state"`
			Entry   string `json:"entry"`
			Stored  int64  `json:"stored"`
			SHA     string `json:"sha"`
			Started bool   `json:"started"`
		}
		for _, own := range []bool{false, true} {
			u := fileURL(t, medium, fmt.Sprintf("rate=1048576&own=%v", own))
			reason := "undefined"
			if own {
				reason = `new Error("the app's reason")`
			}
			o := eval[outcome](p, fmt.Sprintf(`(async (u, reason) => {
			  const ac = new AbortController();
			  const d = R.download(u, { signal: ac.signal });
			  await F.within(new Promise((res) => d.addEventListener("progress", (p) => { if (p.stored > 0) res(); })), 30000, "bytes stored");
			  ac.abort(reason);
			  const out = {};
			  try {
			    await F.within(d.done, 30000, "done to settle");
			    out.name = "resolved";
			  } catch (e) {
			    out.name = e && e.name;
			    out.same = reason === undefined ? e === ac.signal.reason : e === reason;
			  }
			  out.state = d.state;
			  const entry = await R.get(u);
			  out.entry = entry.state;
			  out.stored = entry.received;
			  const r = await R.download(u).done;
			  out.sha = F.hex(await crypto.subtle.digest("SHA-256", await r.blob.arrayBuffer()));
			  return out;
			})(%q, %s)`, u, reason))
			wantName := "AbortError"
			if own {
				wantName = "Error"
			}
			if o.Name != wantName || !o.Same || o.State != "paused" || o.Entry != "paused" || o.Stored <= 0 {
				t.Fatalf("own reason %v: %+v; want done rejected with the signal's reason (%s), paused with bytes stored", own, o, wantName)
			}
			if o.SHA != fileSHA(t, medium) {
				t.Fatalf("own reason %v: the resumed file's sha %s, want %s", own, o.SHA, fileSHA(t, medium))
			}
			log := gets(t, u, 2)
			last := log[len(log)-1]
			gone := false
			for _, l := range log[:len(log)-1] {
				gone = gone || l.ClientGone
			}
			if !gone {
				t.Fatalf("own reason %v: no request was given up on the abort:\n%s", own, lines(log))
			}
			if last.Start == 0 || last.IfRange == "" || last.Status != 206 {
				t.Fatalf("own reason %v: the next download() did not resume with If-Range:\n%s", own, lines(log))
			}
		}

		u := fileURL(t, small, "preaborted=1")
		o := eval[outcome](p, fmt.Sprintf(`(async (u) => {
		  const d = R.download(u, { signal: AbortSignal.abort() });
		  const out = { started: (await R.get(u)) !== undefined };
		  try {
		    await d.done;
		    out.name = "resolved";
		  } catch (e) {
		    out.name = e && e.name;
		  }
		  out.started = out.started || (await R.get(u)) !== undefined;
		  return out;
		})(%q)`, u))
		if o.Name != "AbortError" || o.Started {
			t.Fatalf("an aborted signal: %+v; want an AbortError and nothing started", o)
		}
		if g := gets(t, u, 0); len(g) != 0 {
			t.Fatalf("an aborted signal still sent requests:\n%s", lines(g))
		}
	})
}
