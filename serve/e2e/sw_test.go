//go:build !js && !wasip1

package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/go-resumer/resumer/serve/devserver"
	"github.com/go-resumer/resumer/serve/drive"
)

// swHelpersJS adds window.S to a page (after fetchHelpersJS): registering
// web/resumer-sw.js, and playing a video.
const swHelpersJS = `(() => {
  if (window.S) return true;
  window.S = {
    // register registers resumer-sw.js (or, classic, resumer-sw-classic.js
    // as a classic worker) for the page's database and waits until it
    // controls the page.
    async register(db, ms, classic) {
      if (!("serviceWorker" in navigator)) return { supported: false };
      const sw = navigator.serviceWorker;
      const changed = new Promise((res) => sw.addEventListener("controllerchange", res, { once: true }));
      const reg = classic
        ? await sw.register("/resumer-sw-classic.js?db=" + encodeURIComponent(db))
        : await sw.register("/resumer-sw.js?db=" + encodeURIComponent(db), { type: "module" });
      if (!sw.controller) await F.within(changed, ms, "the Service Worker to control the page");
      return { supported: true, scope: reg.scope, script: sw.controller.scriptURL };
    },
    async unregister() {
      if (!("serviceWorker" in navigator)) return true;
      const regs = await navigator.serviceWorker.getRegistrations();
      await Promise.all(regs.map((r) => r.unregister()));
      return true;
    },
    // play plays the video at src, then seeks to at: each step waits for
    // the media element's events, for ms at most.
    async play(src, at, ms) {
      const v = document.createElement("video");
      v.muted = true;
      v.playsInline = true;
      v.preload = "auto";
      const events = [];
      const waiters = new Set();
      for (const type of ["loadedmetadata", "canplay", "playing", "timeupdate", "waiting", "stalled", "seeking", "seeked", "ended", "error"]) {
        v.addEventListener(type, () => {
          if (events[events.length - 1] !== type) events.push(type);
          for (const w of [...waiters]) w();
        });
      }
      const until = (cond, what) => F.within(new Promise((res, rej) => {
        const check = () => {
          if (v.error) {
            waiters.delete(check);
            rej(new Error("media error " + v.error.code + ": " + v.error.message + " (events " + events.join(" ") + ")"));
          } else if (cond()) {
            waiters.delete(check);
            res();
          }
        };
        waiters.add(check);
        check();
      }), ms, what + " (events " + events.join(" ") + ")");
      document.body.append(v);
      try {
        v.src = src;
        await v.play();
        await until(() => v.currentTime > 1, "currentTime past 1 s");
        const played = v.currentTime;
        // Where the element is when it says it seeked (it plays on).
        let seekedAt = null;
        v.addEventListener("seeked", () => {
          seekedAt = v.currentTime;
          for (const w of [...waiters]) w();
        }, { once: true });
        v.currentTime = at;
        await until(() => seekedAt !== null, "seeked");
        return { played, at: seekedAt, duration: v.duration, events };
      } finally {
        v.pause();
        v.removeAttribute("src");
        v.load();
        v.remove();
      }
    },
  };
  return true;
})()`

// registration is what S.register saw.
type registration struct {
	Supported bool   `json:"supported"` // navigator.serviceWorker exists
	Scope     string `json:"scope"`
	Script    string `json:"script"` // the controller's scriptURL
}

// playback is what S.play saw: the time played to, the time after the
// seek, and the media events in order (repeats folded).
type playback struct {
	Played   float64  `json:"played"`
	At       float64  `json:"at"`
	Duration float64  `json:"duration"`
	Events   []string `json:"events"`
}

// makeVideo makes a 4 s VP8 WebM video with ffmpeg and returns its path.
func makeVideo(t *testing.T) string {
	t.Helper()
	return ffmpegVideo(t, "video.webm", "testsrc=duration=4:size=320x240:rate=25", "-b:v", "200k")
}

// ffmpegVideo makes a VP8 WebM called name from the lavfi source src, with
// the encoder options opts, and returns its path.
func ffmpegVideo(t *testing.T, name, src string, opts ...string) string {
	t.Helper()
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Fatal("ffmpeg is missing: run .ci/deps (make deps), which installs it from Debian's packages")
	}
	out := filepath.Join(t.TempDir(), name)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	args := append([]string{"-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", src, "-c:v", "libvpx"}, opts...)
	cmd := exec.CommandContext(ctx, ffmpeg, append(args, "-g", "25", "-an", out)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, b)
	}
	return out
}

// serveFile copies src into the dev server's data folder as name, where
// /files/name serves it with an ETag, a Last-Modified and ranges.
func serveFile(t *testing.T, src, name string) []byte {
	t.Helper()
	ref, err := env.srv.Path(small)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(filepath.Dir(ref), name)
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(dst) })
	return b
}

// armFile queues faults for the next requests of the data file name.
func armFile(t *testing.T, name string, times int, query string) {
	t.Helper()
	v, err := url.ParseQuery(query)
	if err != nil {
		t.Fatal(err)
	}
	if err := env.srv.Arm(name, times, v); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(env.srv.Disarm)
}

func hexSHA(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// succeeded returns the entries of log answered with a 2xx status.
func succeeded(log []devserver.LogEntry) []devserver.LogEntry {
	var out []devserver.LogEntry
	for _, e := range log {
		if e.Status >= 200 && e.Status < 300 {
			out = append(out, e)
		}
	}
	return out
}

// TestServiceWorker serves a downloaded video at its own URL through
// web/resumer-sw.js: with the network for that file gone (every request
// of it answered 503 by the dev server), a <video> plays and seeks, and
// Range fetches get 206 with the file's bytes, while a URL that is not
// stored still goes to the network. The server's log proves which answers
// came from where. The worker learns of the download both ways it can:
// registered before it, from the page's resumer over BroadcastChannel;
// registered after it, from the database when it starts.
func TestServiceWorker(t *testing.T) {
	video := makeVideo(t)
	forEngines(t, func(t *testing.T, e drive.Engine) {
		for _, c := range []struct {
			name           string
			first, classic bool
		}{
			{"registered before the download", true, false},
			{"registered after the download", false, false},
			// resumer-sw-classic.js, the same module linked into one
			// classic script, registered as a classic worker.
			{"classic, registered before the download", true, true},
		} {
			t.Run(c.name, func(t *testing.T) { serveStored(t, e, video, c.first, c.classic) })
		}
	})
}

// serveStored is TestServiceWorker in one engine, the worker registered
// before the download or after it.
func serveStored(t *testing.T, e drive.Engine, video string, registerFirst, classic bool) {
	name := "sw-" + testID(t) + ".webm"
	file := serveFile(t, video, name)
	size := int64(len(file))
	// An origin of its own: the registration outlives the test in the
	// browser's profile, and must not touch other tests' pages.
	origin := freshOrigin(t)
	p := openPage(t, e, origin+"/blank.html")
	eval[bool](p, fetchHelpersJS)
	eval[bool](p, swHelpersJS)
	u := origin + "/files/" + name + "?t=" + testID(t)

	var reg registration
	register := func() {
		reg = eval[registration](p, fmt.Sprintf(`S.register(%q, 30000, %v)`, p.db, classic))
		if reg.Supported {
			t.Cleanup(func() { _, _ = evalErr[bool](p, `S.unregister()`) })
			t.Logf("%s: the Service Worker controls the page: %s, scope %s", e, reg.Script, reg.Scope)
		} else {
			t.Logf("%s: no navigator.serviceWorker in this session: checking resumer.response instead", e)
		}
	}
	if registerFirst {
		register()
	}
	p.start(u, "")
	if r := p.finish(u); r.Error != nil || r.SHA != hexSHA(file) {
		t.Fatalf("download of the video: %+v, want sha %s", r, hexSHA(file))
	}
	if !registerFirst {
		register()
	}
	// The file's headers as the server sends them, under another URL.
	ref := eval[read](p, fmt.Sprintf(`fetch(%q, {method: "HEAD"}).then(F.answer)`, u+"&ref=1"))
	ctype := ref.Headers["content-type"]
	if ref.Status != 200 || ctype == "" {
		t.Fatalf("HEAD from the server: %+v", ref)
	}
	before := logOf(t, u, 1)
	if len(succeeded(before)) == 0 {
		t.Fatalf("the download made no successful request:\n%s", lines(before))
	}
	// From now on the network has no good answer for this file.
	armFile(t, name, devserver.MaxArmTimes, "status=503")

	get := `fetch(%q, {headers: {Range: %q}}).then(F.answer)`
	if !reg.Supported {
		get = `R.response(%q, {range: %q}).then(F.answer)`
	}
	ranges := []struct {
		rg    string
		start int64
		end   int64 // exclusive
	}{{"bytes=0-99", 0, 100}, {"bytes=1000-", 1000, size}, {"bytes=-500", size - 500, size}}
	for _, r := range ranges {
		a := eval[read](p, fmt.Sprintf(get, u, r.rg))
		want := fmt.Sprintf("bytes %d-%d/%d", r.start, r.end-1, size)
		if a.Status != 206 || a.SHA != hexSHA(file[r.start:r.end]) || a.Headers["content-range"] != want ||
			a.Headers["content-length"] != strconv.FormatInt(r.end-r.start, 10) || a.Headers["content-type"] != ctype || a.Headers["etag"] != ref.Headers["etag"] {
			t.Fatalf("Range %s: %+v; want 206, Content-Range %s, the file's bytes", r.rg, a, want)
		}
	}
	whole := `fetch(%q).then(F.answer)`
	if !reg.Supported {
		whole = `R.response(%q).then(F.answer)`
	}
	if a := eval[read](p, fmt.Sprintf(whole, u)); a.Status != 200 || a.SHA != hexSHA(file) {
		t.Fatalf("the whole video: %+v", a)
	}
	if !reg.Supported {
		if log := logOf(t, u, 0); len(log) != len(before) {
			t.Fatalf("resumer.response went to the network:\n%s", lines(log[len(before):]))
		}
		return
	}
	if a := eval[read](p, fmt.Sprintf(`fetch(%q, {method: "HEAD"}).then(F.answer)`, u)); a.Status != 200 || a.Size != 0 || a.Headers["content-length"] != strconv.FormatInt(size, 10) {
		t.Fatalf("HEAD: %+v", a)
	}

	codec := eval[string](p, `document.createElement("video").canPlayType('video/webm; codecs="vp8"')`)
	if codec == "" {
		t.Logf("%s cannot play VP8 WebM (canPlayType is \"\"): the Range fetches through the Service Worker stand for playback", e)
	} else {
		v := eval[playback](p, fmt.Sprintf(`S.play(%q, 3, 30000)`, u))
		t.Logf("%s (canPlayType %q) played to %.2f s, seeked to %.2f s of %.2f; events %v", e, codec, v.Played, v.At, v.Duration, v.Events)
		if v.Played <= 1 || v.At < 2.9 {
			t.Fatalf("played to %.2f s, seeked to %.2f s; want past 1 s, then at 3 s", v.Played, v.At)
		}
	}

	// Requests the Service Worker has no stored answer for go to the
	// network: another file, and this file under another URL.
	other := origin + "/files/" + small + "?t=" + testID(t)
	if a := eval[read](p, fmt.Sprintf(`fetch(%q).then(F.answer)`, other)); a.Status != 200 || a.SHA != fileSHA(t, small) {
		t.Fatalf("a file that is not stored: %+v", a)
	}
	if g := gets(t, other, 1); len(g) != 1 || g[0].Status != 200 {
		t.Fatalf("a file that is not stored was not fetched from the network once:\n%s", lines(g))
	}
	same := u + "&unstored=1"
	if a := eval[read](p, fmt.Sprintf(`fetch(%q).then(F.answer)`, same)); a.Status != 503 {
		t.Fatalf("the video under a URL that is not stored: %+v; want the network's 503", a)
	}
	if g := gets(t, same, 1); len(g) != 1 || g[0].Status != 503 {
		t.Fatalf("the video under a URL that is not stored was not fetched from the network once:\n%s", lines(g))
	}

	after := logOf(t, u, 0)[len(before):]
	if ok := succeeded(after); len(ok) > 0 {
		t.Fatalf("the network served the stored video after the fault was armed:\n%s", lines(ok))
	}
	if len(after) > 0 {
		t.Fatalf("the stored video was asked of the network after the fault was armed:\n%s", lines(after))
	}
}
