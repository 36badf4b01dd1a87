package resumer

import (
	"testing"
	"time"

	"github.com/go-resumer/resumer/wasm/protocol"
	"github.com/go-resumer/resumer/wasm/store/memstore"
)

// FuzzNews: news told by one tab reads back the same in another, and any
// other message (another program's, another version's, a torn one) is
// refused or read without a panic.
func FuzzNews(f *testing.F) {
	f.Add("m1", "https://x.test/a.bin", "running", int64(1<<20), int64(512<<10), int64(8<<20), int64(2<<20), `"v1"`, "Mon, 07 Dec 2026 10:00:00 GMT", true, "", "", 0, int64(0), "", "")
	f.Add("m2", "k:3:x", "paused", int64(0), int64(0), int64(-1), int64(0), "", "", false, protocol.ReasonNoValidators, "the server sent no ETag: 1:2", 3, int64(1796638519941), "network", "fetch failed: 1:x")
	f.Fuzz(func(t *testing.T, sender, key, state string, received, stored, total, speed int64, etag, lm string, resumable bool, code, text string, attempt int, retryAt int64, errCode, errMsg string) {
		n := news{Sender: sender, Key: key, State: protocol.State(state), Received: received, Stored: stored, Total: total, Speed: float64(speed),
			ETag: etag, LastModified: lm, Resumable: resumable, Reason: protocol.Reason{Code: code, Text: text},
			Attempt: attempt, RetryAt: retryAt, ErrCode: errCode, ErrMessage: errMsg}
		msg := n.marshal()
		got, err := unmarshalNews(msg)
		if err != nil || got != n {
			t.Fatalf("told %+v, heard %+v, %v", n, got, err)
		}
		if _, err := unmarshalNews(msg[:len(msg)/2]); err == nil {
			t.Fatalf("half of the news read as news")
		}
		// Anything else is refused, or read as news that reads back
		// the same.
		other := []byte(sender + key + state + etag + text)
		if m, err := unmarshalNews(other); err == nil {
			if again, err := unmarshalNews(m.marshal()); err != nil || again != m {
				t.Fatalf("%q read as %+v, which does not read back: %+v, %v", other, m, again, err)
			}
		}
	})
}

// TestNewsOfAnotherVersion: a message of another version is not heard.
func TestNewsOfAnotherVersion(t *testing.T) {
	msg := news{Key: "k", State: protocol.Running}.marshal()
	other := []byte("14:resumer-news-2" + string(msg[len("14:resumer-news-1"):]))
	if _, err := unmarshalNews(other); err == nil {
		t.Fatal("news of another version was heard")
	}
	if _, err := unmarshalNews([]byte(`{"key":"k","state":"running"}`)); err == nil {
		t.Fatal("a JSON message was heard as news")
	}
}

// TestHeard: a Download that waits for another tab shows that tab's news,
// never its own tab's (a BroadcastChannel may hand a tab its own), and
// nothing of it once it writes itself.
func TestHeard(t *testing.T) {
	m := NewManager(memstore.New(), nil)
	d := newDownload(m, "k", "https://x.test/k", Options{})
	d.state, d.progress.State = protocol.LockedElsewhere, protocol.LockedElsewhere
	m.active["k"] = d
	told := news{Key: "k", State: protocol.Running, Received: 300, Stored: 200, Total: 1000, Speed: 50, ETag: `"v1"`, Resumable: true,
		Attempt: 2, RetryAt: 1796638519941, ErrCode: CodeNetwork, ErrMessage: "the connection dropped"}

	own := told
	own.Sender = m.id
	m.heard(own.marshal())
	if p := d.Progress(); p.Elsewhere != "" || p.Stored != 0 {
		t.Fatalf("its own news shown as another tab's: %+v", p)
	}

	other := told
	other.Sender = "another tab"
	m.heard(other.marshal())
	p := d.Progress()
	if p.State != protocol.LockedElsewhere || p.Elsewhere != protocol.Running || p.Received != 300 || p.Stored != 200 || p.Total != 1000 ||
		p.Speed != 50 || p.Validators.ETag != `"v1"` || !p.Resumable || p.Attempt != 2 || !p.RetryAt.Equal(time.UnixMilli(1796638519941)) ||
		p.ErrCode != CodeNetwork || p.Err == nil || p.Err.Error() != "the connection dropped" {
		t.Fatalf("shown %+v; want the other tab's news", p)
	}

	d.setState(protocol.Running, nil)
	if p := d.Progress(); p.Elsewhere != "" || p.Stored != 0 || p.Speed != 0 || p.Attempt != 0 || p.ErrCode != "" || p.Validators.ETag != "" {
		t.Fatalf("writing itself, it still shows the other tab's news: %+v", p)
	}
	m.heard(other.marshal())
	if p := d.Progress(); p.Elsewhere != "" {
		t.Fatalf("news heard while it writes itself was shown: %+v", p)
	}
}
