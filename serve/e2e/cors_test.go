//go:build !js && !wasip1

package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/go-resumer/resumer/serve/devserver"
	"github.com/go-resumer/resumer/serve/drive"
)

// crossURL is the test file on the second origin (another port).
func crossURL(t *testing.T, query string) string {
	return strings.Replace(fileURL(t, medium, query), env.base, env.base2, 1)
}

func TestCrossOrigin(t *testing.T) {
	forEngines(t, func(t *testing.T, e drive.Engine) {
		t.Run("resume with If-Range after a preflight", func(t *testing.T) {
			p := newPage(t, e, "/blank.html")
			arm(t, 2, "")
			arm(t, 1, "cut=3000000&"+paced)
			u := crossURL(t, "")
			p.start(u, quick)
			r := p.finish(u)
			mustSHA(t, r)
			if !r.Resumable {
				t.Fatalf("result %+v", r)
			}
			log := logOf(t, u, 3)
			// The probe needs no preflight (a Range with a start is
			// safelisted); the first request with If-Range does, and the
			// resume after the cut carries If-Range too.
			if log[0].Method != "GET" || log[0].Origin != env.base || log[0].Range != "bytes=0-65535" || log[0].IfRange != "" {
				t.Fatalf("requests:\n%s", lines(log))
			}
			preflight, cut, resumed := -1, -1, -1
			for i, e := range log {
				switch {
				case e.Method == "OPTIONS" && strings.Contains(e.ACRH, "if-range") && preflight < 0:
					preflight = i
				case e.Method == "GET" && e.Cut:
					cut = i
				case e.Method == "GET" && cut >= 0 && e.IfRange != "" && e.Start >= log[cut].Start:
					resumed = i
				}
			}
			if preflight < 0 || cut < preflight || resumed < cut {
				t.Fatalf("want a preflight for if-range, a cut and a resume with If-Range:\n%s", lines(log))
			}
			// The proof a page is shown is the probe's answer, marked
			// cross-origin (a missing header may be one not exposed).
			ls := p.list()
			if len(ls) != 1 || ls[0].DecidedBy == nil {
				t.Fatalf("list %+v: want one entry with its proof", ls)
			}
			x := ls[0].DecidedBy
			if !x.CrossOrigin || x.Status != log[0].Status || len(x.Request) != 1 || x.Request[0].Value != log[0].Range {
				t.Fatalf("proof %+v; the probe was %s", *x, lines(log[:1]))
			}
		})
		t.Run("preflight refuses If-Range: plain Range checked by ETag", func(t *testing.T) {
			p := newPage(t, e, "/blank.html")
			arm(t, 2, "")
			arm(t, 1, "cut=3000000&"+paced)
			u := crossURL(t, "cors=noifrange")
			p.start(u, quick)
			r := p.finish(u)
			mustSHA(t, r)
			log := logOf(t, u, 2)
			var pre, resume *devserver.LogEntry
			for i := range log {
				if log[i].Method == "OPTIONS" && pre == nil {
					pre = &log[i]
				}
				if log[i].Method == "GET" && log[i].Start > 0 {
					resume = &log[i]
				}
			}
			if pre == nil || !strings.Contains(pre.ACRH, "if-range") || resume == nil || resume.IfRange != "" || resume.Status != 206 {
				t.Fatalf("want a refused preflight, then a plain-Range resume:\n%s", lines(log))
			}
			if pr := p.progressOf(u); len(pr.Notices) == 0 || !strings.Contains(pr.Notices[0], "If-Range") {
				t.Fatalf("no notice of the fallback: %+v", pr)
			}
		})
		t.Run("headers not exposed: one stream, not resumable, says which headers", func(t *testing.T) {
			p := newPage(t, e, "/blank.html")
			u := crossURL(t, "cors=noexpose")
			p.start(u, quick)
			r := p.finish(u)
			mustSHA(t, r)
			if r.Resumable || r.ReasonCode != "hidden-headers" || !strings.Contains(r.Reason, "Access-Control-Expose-Headers: ETag, Last-Modified, Content-Range") {
				t.Fatalf("result %+v", r)
			}
			log := logOf(t, u, 2)
			if log[len(log)-1].Range != "" || log[len(log)-1].Status != 200 || log[len(log)-1].Sent != mediumSize {
				t.Fatalf("want a last request without Range for the whole file:\n%s", lines(log))
			}
		})
	})
}

func lines(log []devserver.LogEntry) string {
	var b strings.Builder
	for _, e := range log {
		b.WriteString(e.String())
		b.WriteString("\n")
	}
	return b.String()
}

// TestCrossOriginNginx resumes a download from nginx configured as the
// docs/servers.md advises, on another origin than the page.
func TestCrossOriginNginx(t *testing.T) {
	forEngines(t, func(t *testing.T, e drive.Engine) {
		n := env.nginx
		tg := n.target()
		p := newPage(t, e, "/blank.html")
		u := tg.origin + "/cors/" + medium + "?t=" + testID(t)
		p.start(u, slowOpts)
		p.waitStored(u, mediumSize*4/10)
		p.reload()
		stored := p.list()[0].Received
		t0 := time.Now()
		p.start(u, slowOpts)
		r := p.finish(u)
		if r.Error != nil || r.SHA != tg.sha(t) || !r.Resumable {
			t.Fatalf("result %+v", r)
		}
		after := since(tg.reqs(t, u, 2), t0)
		if len(after) == 0 || after[0].Start != stored || after[0].IfRange == "" || after[0].Status != 206 {
			t.Fatalf("resumed with %+v; want a 206 from %d with If-Range", after, stored)
		}
	})
}
