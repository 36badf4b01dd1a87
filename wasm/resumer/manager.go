package resumer

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-resumer/resumer/wasm/protocol"
	"github.com/go-resumer/resumer/wasm/resumer/platform"
	"github.com/go-resumer/resumer/wasm/store"
)

// Manager runs downloads against one store. It keeps at most one running
// Download per URL.
type Manager struct {
	store    store.Store
	platform platform.Platform

	// Now and Rand are the clock and the jitter source; tests replace them.
	Now  func() time.Time
	Rand func() float64
	// Namespace names the store in cross-tab locks (the IndexedDB name).
	Namespace string

	mu     sync.Mutex           // guards active
	active map[string]*Download // by key
	queue  queue                // the slots of SetMaxConcurrent; its own lock

	listening sync.Once // the other tabs' news (platform.Teller)
	id        string    // this Manager's, in the news it tells
}

// NewManager returns a Manager storing into st and fetching through p.
func NewManager(st store.Store, p platform.Platform) *Manager {
	return &Manager{store: st, platform: p, Now: time.Now, Rand: rand.Float64, active: map[string]*Download{},
		id: strconv.FormatUint(rand.Uint64(), 36)}
}

// newGen returns a new generation id for stored bytes. Ids are random, not
// counted: two tabs that write the same download without a cross-tab lock
// (no Web Locks API) never write chunks under the same generation, so a
// tab joins only bytes it wrote itself. 2⁵² keeps them exact as JS numbers.
func (m *Manager) newGen() int64 { return rand.Int64N(1 << 52) }

// Store returns the manager's store.
func (m *Manager) Store() store.Store { return m.store }

// Download starts or resumes the download of url, an absolute http(s) URL,
// stored under opts.Key (default: url). If that key is already being
// downloaded by this manager, the running Download is returned, resumed if
// it was paused and pointed at url for its next requests; the other opts
// are then ignored, but Options.Waiting, which counts this caller. Stored bytes from an earlier session are resumed. A
// Download that was stopped (Download.Stop) is not joined: another one
// takes its bytes up once it has let them go.
func (m *Manager) Download(url string, opts Options) (*Download, error) {
	if err := checkURL(url); err != nil {
		return nil, newError(CodeInvalid, err)
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, newError(CodeInvalid, err)
	}
	if opts.Integrity != "" {
		if _, ok := m.hasher(); !ok {
			return nil, newError(CodeInvalid, errors.New("integrity: this platform cannot hash the bytes it stores"))
		}
	}
	key := opts.Key
	if key == "" {
		key = url
	}
	m.listen() // not under m.mu: what it hears takes m.mu
	m.mu.Lock()
	defer m.mu.Unlock()
	old, ok := m.active[key]
	if ok && ended(old) {
		// Finished or failed, not yet forgotten: nothing to join or to
		// wait for.
		ok = false
	}
	if ok && !old.stopped() {
		d := old
		if d.cred != protocol.Credentials(opts.Header, opts.Credentials) {
			// Joining would hand this caller the file of a download made
			// with other credentials (another user's, after a login):
			// private files are answered only to the same ones.
			return nil, newError(CodeLocked, fmt.Errorf("%s is being downloaded here with other credentials", key))
		}
		d.setURL(url)
		d.join(opts)
		return d, nil
	}
	d := newDownload(m, key, url, opts)
	if ok {
		// A stopped Download of the key still settles: this one starts
		// once it has let go, never writing beside it.
		d.after = old.done
	}
	m.active[key] = d
	go d.loop()
	return d, nil
}

// ended reports whether d has ended (Done is closed).
func ended(d *Download) bool {
	select {
	case <-d.done:
		return true
	default:
		return false
	}
}

// Caller is who asks for a stored file: the credentials its request
// brings, as Options.Header and Options.Credentials. A private download
// (one made with credentials, see protocol.Credentials) is answered only
// to a Caller with the same ones; the zero Caller brings none.
type Caller struct {
	Header      map[string]string
	Credentials string
}

// owner returns the Record.Owner of a download made with, or a request
// that brings, the credentials cred (protocol.Credentials): "" for none,
// else a keyed hash of them under the store's secret, so that they are
// never stored in clear and cannot be guessed from the store without its
// secret.
func (m *Manager) owner(ctx context.Context, text string) (string, error) {
	if text == "" {
		return "", nil
	}
	secret, err := m.store.Secret(ctx)
	if err != nil {
		return "", storageError("read the store's secret", err)
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(text))
	return store.OwnerPrefix + base64.RawURLEncoding.EncodeToString(mac.Sum(nil)), nil
}

// sameOwner compares two Record.Owner values in constant time: how long
// it takes says nothing of how much of a guess was right.
func sameOwner(a, b string) bool { return hmac.Equal([]byte(a), []byte(b)) }

// Resolve returns the key of the download a caller names: the first of
// names that is the key of a download running here or stored, else the
// last of them. resumer.js passes what the app gave and, where that reads
// as a relative URL, the absolute URL: a key is taken as given before a
// URL is made of it.
func (m *Manager) Resolve(ctx context.Context, names ...string) (string, error) {
	if len(names) == 0 {
		return "", newError(CodeInvalid, errors.New("no key"))
	}
	for _, n := range names {
		if _, ok := m.Active(n); ok {
			return n, nil
		}
		switch _, err := m.store.Get(ctx, n); {
		case err == nil:
			return n, nil
		case !errors.Is(err, store.ErrNotFound):
			return "", storageError("read record", err)
		}
	}
	return names[len(names)-1], nil
}

// PauseAll pauses every download this manager runs.
func (m *Manager) PauseAll() {
	m.mu.Lock()
	all := make([]*Download, 0, len(m.active))
	for _, d := range m.active {
		all = append(all, d)
	}
	m.mu.Unlock()
	for _, d := range all {
		d.Pause()
	}
}

// checkURL refuses what cannot be downloaded, before anything is stored:
// anything but an absolute http(s) URL with a host, and a URL with
// credentials (user:pass@host), which fetch() refuses and which would be
// written into storage as the download's key.
func checkURL(url string) error {
	rest, ok := strings.CutPrefix(url, "https://")
	if !ok {
		rest, ok = strings.CutPrefix(url, "http://")
	}
	if !ok {
		return fmt.Errorf("not an absolute http(s) URL: %q", url)
	}
	// The authority ends at the first "/", "?" or "#" (RFC 3986 §3.2); an
	// "@" inside it can only end a userinfo.
	authority := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		authority = rest[:i]
	}
	switch {
	case strings.Contains(authority, "@"):
		return errors.New("the URL holds credentials (user:password@); pass them another way: they would be stored with the download")
	case authority == "":
		return fmt.Errorf("the URL has no host: %q", url)
	}
	return nil
}

// lockName is the name of the cross-tab lock of url's download.
func (m *Manager) lockName(url string) string { return "resumer:" + m.Namespace + ":" + url }

// locker returns the platform's Locker, or nil.
func (m *Manager) locker() platform.Locker {
	l, _ := m.platform.(platform.Locker)
	return l
}

// forget drops d from the active set once it has ended.
func (m *Manager) forget(d *Download) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.active[d.key] == d {
		delete(m.active, d.key)
	}
}

// Active returns the running Download of key, if any.
func (m *Manager) Active(key string) (*Download, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.active[key]
	return d, ok
}

// States that List reports beside those of the state machine.
const (
	// Interrupted: the record says running but no Download of this
	// manager runs it: its tab was closed or reloaded mid-transfer.
	Interrupted protocol.State = "interrupted"
	// Damaged: the record cannot be trusted (see store.Record.Check);
	// Download starts it over, Remove deletes it.
	Damaged protocol.State = "damaged"
)

// Info describes a stored download.
type Info struct {
	// Key is the download's key; URL the link it was last fetched from
	// (the key, for a download started without one).
	Key         string
	URL         string
	State       protocol.State
	Total       int64
	Received    int64
	Validators  protocol.Validators
	ContentType string
	Resumable   bool
	Reason      protocol.Reason
	Restarts    int
	ErrCode     string
	ErrMessage  string
	Created     time.Time
	Updated     time.Time
	// Evicted is true when stored bytes the record counted are gone (the
	// browser evicted them): the next Download fetches them again.
	Evicted bool
	// Verified is true when the file's bytes matched its digest.
	Verified bool
	// Decided is the request and answer that decided Resumable (zero
	// until the server answered).
	Decided protocol.Exchange
	// Private is true for a download made with credentials
	// (protocol.Credentials): it is answered only to a Caller with the
	// same ones, never to a Service Worker or a cache lookup.
	Private bool
}

// List describes every stored download.
func (m *Manager) List(ctx context.Context) ([]Info, error) {
	recs, err := m.store.List(ctx)
	if err != nil {
		return nil, newError(CodeStorage, fmt.Errorf("list downloads: %w", err))
	}
	out := make([]Info, 0, len(recs))
	for _, rec := range recs {
		chunks, err := m.store.Chunks(ctx, rec.URL)
		if err != nil {
			return nil, newError(CodeStorage, fmt.Errorf("list chunks of %s: %w", rec.URL, err))
		}
		var ext protocol.Extents
		for _, c := range chunks {
			if c.Gen == rec.Gen && c.Data != nil {
				ext.Add(c.Start, c.End())
			}
		}
		src := rec.Source
		if src == "" {
			src = rec.URL
		}
		info := Info{
			Key: rec.URL, URL: src, State: rec.State,
			Evicted:  rec.Established() && rec.Received > ext.Len() && (rec.Resumable() || rec.State == protocol.Done),
			Verified: !rec.Digest.Empty() && rec.State == protocol.Done && rec.Hashed == rec.Total, Total: rec.Total, Received: ext.Len(),
			Validators: rec.Validators, ContentType: rec.ContentType, Resumable: rec.Resumable(), Reason: rec.Reason,
			Restarts: rec.Restarts, ErrCode: rec.ErrCode, ErrMessage: rec.ErrMessage, Decided: rec.Decided,
			Private: rec.Owner != "", Created: time.UnixMilli(rec.Created), Updated: time.UnixMilli(rec.Updated),
		}
		if d, ok := m.Active(rec.URL); ok {
			info.State = d.State()
		} else if err := rec.Check(); err != nil {
			info.State, info.Received, info.ErrMessage = Damaged, 0, err.Error()
		} else if info.State == protocol.Running {
			info.State = Interrupted
		}
		out = append(out, info)
	}
	return out, nil
}

// Remove cancels the download of key if it runs here, and deletes it and
// its bytes from the store. It deletes only under the download's
// cross-tab lock: bytes another tab is writing are that tab's, and Remove
// then returns an error with CodeLocked and changes nothing.
func (m *Manager) Remove(ctx context.Context, key string) error {
	d, active := m.Active(key)
	if active && d.holdsLock() {
		// Running here: it deletes its bytes as it stops, under its lock.
		if err := d.cancelAndWait(ctx); err != nil {
			return err
		}
		active = false
	}
	if l := m.locker(); l != nil {
		release, ok, err := l.Lock(ctx, m.lockName(key), false)
		if err != nil {
			return newError(CodeStorage, fmt.Errorf("lock %s: %w", key, err))
		}
		if !ok {
			return newError(CodeLocked, fmt.Errorf("%s is being downloaded in another tab", key))
		}
		defer release()
	}
	if active {
		// Paused, or waiting for another tab: it writes nothing, and
		// stops here.
		if err := d.cancelAndWait(ctx); err != nil {
			return err
		}
	}
	if err := m.store.Delete(ctx, key); err != nil {
		return newError(CodeStorage, fmt.Errorf("remove %s: %w", key, err))
	}
	return nil
}

// storageCtx returns a context for one storage operation. It is not tied to
// the download's context: a piece that has arrived is stored even when the
// user pauses at that instant, and a stuck store cannot hang a download.
func storageCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 30*time.Second)
}

// storageError classifies a store error.
func storageError(what string, err error) *Error {
	if errors.Is(err, store.ErrQuota) {
		return newError(CodeQuota, fmt.Errorf("%s: %w", what, err))
	}
	return newError(CodeStorage, fmt.Errorf("%s: %w", what, err))
}
