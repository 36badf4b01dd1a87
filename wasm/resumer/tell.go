package resumer

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/go-resumer/resumer/wasm/protocol"
	"github.com/go-resumer/resumer/wasm/resumer/platform"
)

// news is what the tab that writes a download tells the other tabs of its
// progress (platform.Teller): a tab whose Download of the same key waits
// for the lock (locked-elsewhere) shows it. On the wire it is a list of
// fields, each its length in decimal, a colon and its bytes (encoding/json
// would add a ninth to resumer.wasm).
type news struct {
	// Sender is the telling Manager's own id: a BroadcastChannel may hand
	// a tab its own news, which it does not take for another's.
	Sender                  string
	Key                     string
	State                   protocol.State
	Received, Stored, Total int64
	Speed                   float64 // told in whole bytes per second
	ETag, LastModified      string
	Resumable               bool
	Reason                  protocol.Reason
	Attempt                 int
	RetryAt                 int64 // ms since the epoch; 0: none
	ErrCode, ErrMessage     string
}

// newsVersion is the first field of news: a tab running another version
// of resumer, whose fields may differ, is not heard.
const newsVersion = "resumer-news-1"

// newsFields is how many fields news has on the wire, its version first.
const newsFields = 18

func (n news) marshal() []byte {
	var b strings.Builder
	for _, f := range [newsFields]string{
		newsVersion, n.Sender, n.Key, string(n.State),
		strconv.FormatInt(n.Received, 10), strconv.FormatInt(n.Stored, 10), strconv.FormatInt(n.Total, 10),
		strconv.FormatInt(int64(n.Speed), 10), n.ETag, n.LastModified, strconv.FormatBool(n.Resumable),
		n.Reason.Code, n.Reason.Text, strconv.Itoa(n.Attempt), strconv.FormatInt(n.RetryAt, 10),
		n.ErrCode, n.ErrMessage, "",
	} {
		b.WriteString(strconv.Itoa(len(f)))
		b.WriteByte(':')
		b.WriteString(f)
	}
	return []byte(b.String())
}

var errNews = errors.New("not news of this version")

func unmarshalNews(msg []byte) (news, error) {
	var f []string
	for s := string(msg); s != ""; {
		l, rest, ok := strings.Cut(s, ":")
		n, err := strconv.Atoi(l)
		if !ok || err != nil || n < 0 || n > len(rest) || len(f) == newsFields {
			return news{}, errNews
		}
		f, s = append(f, rest[:n]), rest[n:]
	}
	if len(f) != newsFields || f[0] != newsVersion {
		return news{}, errNews
	}
	n := news{Sender: f[1], Key: f[2], State: protocol.State(f[3]), ETag: f[8], LastModified: f[9],
		Reason: protocol.Reason{Code: f[11], Text: f[12]}, ErrCode: f[15], ErrMessage: f[16]}
	bad := false
	integer := func(s string) int64 {
		v, err := strconv.ParseInt(s, 10, 64)
		bad = bad || err != nil
		return v
	}
	n.Received, n.Stored, n.Total = integer(f[4]), integer(f[5]), integer(f[6])
	n.Speed = float64(integer(f[7]))
	n.Attempt = int(integer(f[13]))
	n.RetryAt = integer(f[14])
	switch f[10] {
	case "true":
		n.Resumable = true
	case "false":
	default:
		bad = true
	}
	if bad {
		return news{}, errNews
	}
	return n, nil
}

// newsChannel is the Teller channel of the manager's store.
func (m *Manager) newsChannel() string { return "resumer-progress:" + m.Namespace }

func (m *Manager) teller() platform.Teller {
	t, _ := m.platform.(platform.Teller)
	return t
}

// listen starts, once, to take the other tabs' news.
func (m *Manager) listen() {
	t := m.teller()
	if t == nil {
		return
	}
	m.listening.Do(func() { t.Listen(m.newsChannel(), m.heard) })
}

// heard hands another tab's news of a download to this tab's Download of
// it, if that one waits for the other tab.
func (m *Manager) heard(msg []byte) {
	n, err := unmarshalNews(msg)
	if err != nil || n.Key == "" || n.Sender == m.id {
		return // not resumer's, another version's, or this tab's own
	}
	if d, ok := m.Active(n.Key); ok {
		d.heard(n)
	}
}

// heard keeps n, the writing tab's progress, while d waits for that tab,
// and shows it.
func (d *Download) heard(n news) {
	d.mu.Lock()
	if d.state != protocol.LockedElsewhere || n.State == protocol.LockedElsewhere {
		d.mu.Unlock()
		return
	}
	d.told = &n
	d.mu.Unlock()
	// Every time: the writer tells at most every ProgressInterval, and
	// the last word must not be lost to this tab's own pace.
	d.emit(true)
}

// shown is the progress to show, d.mu held: d's own, or, while d waits
// for another tab that told its progress, that tab's (never kept in
// d.progress, so that none of it stays once d writes).
func (d *Download) shown() Progress {
	p := d.progress
	n := d.told
	if d.state != protocol.LockedElsewhere || n == nil {
		return p
	}
	p.Elsewhere = n.State
	p.Received, p.Stored, p.Total, p.Speed = n.Received, n.Stored, n.Total, n.Speed
	p.Validators.ETag, p.Validators.LastModified = n.ETag, n.LastModified
	p.Resumable, p.Reason = n.Resumable, n.Reason
	p.Attempt, p.RetryAt, p.ErrCode, p.Err = n.Attempt, time.Time{}, n.ErrCode, nil
	if n.RetryAt != 0 {
		p.RetryAt = time.UnixMilli(n.RetryAt)
	}
	if n.ErrMessage != "" {
		p.Err = errors.New(n.ErrMessage)
	}
	return p
}

// tell tells the other tabs p, the progress of d, while d holds the lock:
// only the tab that writes a download speaks for it.
func (d *Download) tell(p Progress, locked bool) {
	t := d.m.teller()
	if t == nil || !locked || p.State == protocol.LockedElsewhere {
		return
	}
	n := news{
		Sender: d.m.id, Key: d.key, State: p.State, Received: p.Received, Stored: p.Stored, Total: p.Total, Speed: p.Speed,
		ETag: p.Validators.ETag, LastModified: p.Validators.LastModified, Resumable: p.Resumable, Reason: p.Reason,
		Attempt: p.Attempt, ErrCode: p.ErrCode,
	}
	if !p.RetryAt.IsZero() {
		n.RetryAt = p.RetryAt.UnixMilli()
	}
	if p.Err != nil {
		n.ErrMessage = p.Err.Error()
	}
	t.Tell(d.m.newsChannel(), n.marshal())
}
