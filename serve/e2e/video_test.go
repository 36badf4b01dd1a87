//go:build !js && !wasip1

package e2e

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/go-resumer/resumer/serve/drive"
)

// seekHelpersJS adds window.VS to a page (after fetchHelpersJS): seeking a
// video as soon as its metadata is loaded, before the element has read far
// into the file, where an element that cannot seek in its source shows it.
const seekHelpersJS = `(() => {
  if (window.VS) return true;
  const ranges = (r) => { const o = []; for (let i = 0; i < r.length; i++) o.push([r.start(i), r.end(i)]); return o; };
  window.VS = {
    // seek loads the Blob b into a <video> from an object URL, seeks to at
    // on loadedmetadata, and plays on from there: each step waits for the
    // element's events, for ms at most.
    async seek(b, at, ms) {
      const v = document.createElement("video");
      v.muted = true;
      v.playsInline = true;
      v.preload = "metadata";
      const events = [];
      const waiters = new Set();
      for (const type of ["loadedmetadata", "canplay", "playing", "waiting", "stalled", "seeking", "seeked", "ended", "error"]) {
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
      const src = URL.createObjectURL(b);
      document.body.append(v);
      try {
        v.src = src;
        await until(() => v.readyState >= 1, "loadedmetadata");
        const seekable = ranges(v.seekable);
        let seekedAt = null;
        v.addEventListener("seeked", () => {
          seekedAt = v.currentTime;
          for (const w of [...waiters]) w();
        }, { once: true });
        v.currentTime = at;
        await until(() => seekedAt !== null, "seeked");
        v.addEventListener("timeupdate", () => { for (const w of [...waiters]) w(); });
        await v.play();
        await until(() => v.currentTime > seekedAt + 0.5, "playing past " + (seekedAt + 0.5) + " s");
        return { seekable, at: seekedAt, played: v.currentTime, duration: v.duration, events };
      } finally {
        v.pause();
        v.removeAttribute("src");
        v.load();
        v.remove();
        URL.revokeObjectURL(src);
      }
    },
  };
  return true;
})()`

// seekResult is what VS.seek saw: the seekable ranges once the metadata
// was in, where the seek landed, how far it played on from there.
type seekResult struct {
	Seekable [][2]float64 `json:"seekable"`
	At       float64      `json:"at"`
	Played   float64      `json:"played"`
	Duration float64      `json:"duration"`
	Events   []string     `json:"events"`
}

// makeLongVideo makes a 24 s VP8 WebM of about 19 MiB with ffmpeg (about
// 5 s on 2 cores): noise keeps the encoder at its bit rate, so that the
// file spans several of resumer's chunks (64 KiB, 960 KiB, then 8 MiB) and
// 15 s is far past what an element reads before it seeks. Its Cues, the
// index a player seeks with, are at its end.
func makeLongVideo(t *testing.T) string {
	t.Helper()
	return ffmpegVideo(t, "long.webm", "testsrc=duration=24:size=640x360:rate=25,noise=alls=30:allf=t+u",
		"-b:v", "6800k", "-minrate", "6800k", "-maxrate", "6800k", "-deadline", "realtime", "-cpu-used", "8")
}

// TestSeekStoredVideo plays a downloaded 19 MiB video from an object URL
// of the Blob resumer hands out, seeking to 15 s as soon as the metadata is
// in: the Blob of download().done, and that of response()'s body. Firefox
// cannot seek in a Blob made of several stored Blobs (web/resumer.js,
// playable); the same file from fetch().blob() is the reference every
// engine meets.
func TestSeekStoredVideo(t *testing.T) {
	video := makeLongVideo(t)
	forEngines(t, func(t *testing.T, e drive.Engine) {
		name := "seek-" + testID(t) + ".webm"
		file := serveFile(t, video, name)
		p := newPage(t, e, "/blank.html")
		eval[bool](p, fetchHelpersJS)
		eval[bool](p, seekHelpersJS)
		if codec := eval[string](p, `document.createElement("video").canPlayType('video/webm; codecs="vp8"')`); codec == "" {
			t.Skipf("%s cannot play VP8 WebM", e)
		}
		u := fileURL(t, name, "")
		p.start(u, "")
		// Download._stored is what the engine handed over, before done's
		// copy (web/resumer.js, playable).
		eval[bool](p, fmt.Sprintf(`(T.D[%[1]q]._stored?.then(() => { T.P[%[1]q].storedAt = performance.now(); }),
		  T.D[%[1]q].done.then(() => { T.P[%[1]q].doneAt = performance.now(); }), true)`, u))
		if r := p.finish(u); r.Error != nil || r.SHA != hexSHA(file) || r.BlobSize != int64(len(file)) {
			t.Fatalf("download of the video: %+v, want sha %s", r, hexSHA(file))
		}
		// copied reports whether download().done's Blob of u is a copy,
		// nil where resumer.js has no Download._stored (hands out what the
		// engine does).
		copied := func(u string) *bool {
			return eval[*bool](p, fmt.Sprintf(`(T.D[%[1]q]._stored ? Promise.all([T.D[%[1]q].done, T.D[%[1]q]._stored]).then(([d, s]) => d.blob !== s.blob) : null)`, u))
		}
		// Firefox needs a copy (about 4 s per GiB, in a temporary file);
		// the other engines seek in the stored chunks as they are, where a
		// copy would be waste (WebKit's, in memory).
		switch c := copied(u); {
		case c == nil:
			t.Log("download().done hands out the engine's Blob: resumer.js has no Download._stored")
		case *c && e != drive.Firefox:
			t.Errorf("download().done's Blob is a copy in %s, which seeks in the stored one", e)
		default:
			t.Logf("download().done's Blob is a copy: %v; done came %.0f ms after the download was stored", *c, eval[float64](p, fmt.Sprintf(`T.P[%[1]q].doneAt - T.P[%[1]q].storedAt`, u)))
		}
		// A file that is not media is handed out as stored, in every engine.
		other := fileURL(t, medium, "")
		p.start(other, "")
		if r := p.finish(other); r.Error != nil || r.SHA != fileSHA(t, medium) {
			t.Fatalf("download of %s: %+v", medium, r)
		}
		if c := copied(other); c != nil && *c {
			t.Errorf("download().done's Blob of %s, not media, is a copy", medium)
		}

		const at = 15
		ways := []struct{ name, blob string }{
			{"fetch().blob()", fmt.Sprintf(`fetch(%q).then((r) => r.blob())`, u+"&ref=1")},
			{"download().done", fmt.Sprintf(`T.D[%q].done.then((r) => r.blob)`, u)},
			{"response()", fmt.Sprintf(`R.response(%q).then((r) => r.blob())`, u)},
		}
		for _, w := range ways {
			t0 := time.Now()
			v, err := evalErr[seekResult](p, fmt.Sprintf(`(async () => VS.seek(await (%s), %d, 15000))()`, w.blob, at))
			if err != nil {
				t.Errorf("%s: %v", w.name, err)
				continue
			}
			t.Logf("%s: seekable at loadedmetadata %v, seeked to %.2f s of %.2f, played on to %.2f (%v); events %v",
				w.name, v.Seekable, v.At, v.Duration, v.Played, time.Since(t0).Round(time.Millisecond), v.Events)
			if math.Abs(v.At-at) > 0.5 || v.Played <= v.At {
				t.Errorf("%s: seeked to %.2f s, played on to %.2f s; want %d s, then on", w.name, v.At, v.Played, at)
			}
		}
	})
}
