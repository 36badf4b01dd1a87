package devserver

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Config says where the server finds its files and what it generates.
type Config struct {
	// DataDir is the folder whose files are served under /files/. It is
	// created if missing.
	DataDir string
	// WebDir is the static bundle served at /; "" serves no bundle. It is
	// opened per request, so a bundle rebuilt while the server runs is
	// picked up.
	WebDir string
	// Samples are generated in DataDir when missing, of the wrong size or
	// not of the expected content. Nil or empty generates nothing: pass
	// DefaultSamples for the standard set, or tiny samples in tests.
	Samples []Sample
	// Logf receives one line per /files/ request and per generated or
	// changed file; nil is silent.
	Logf func(format string, args ...any)
	// ControlToken is the token the control API asks for (ControlHeader);
	// "" makes a random one (Server.ControlToken returns it).
	ControlToken string
	// LogLimit is how many entries the request log keeps, the newest;
	// 0 means DefaultLogLimit.
	LogLimit int
}

// Bounds on what the server keeps in memory for its clients, whoever they
// are: a test server left running must not grow without end.
const (
	// DefaultLogLimit is the default Config.LogLimit.
	DefaultLogLimit = 10000
	// MaxArmed is how many fault sets may be armed at once, over all files.
	MaxArmed = 1000
	// MaxArmTimes caps the times of one armed set.
	MaxArmTimes = 1 << 20
	// maxFailCounters caps the fail= counters (one per URL, each keyed
	// by a SHA-256 of the URL: about 200 bytes apiece, whatever the URL's
	// length); past it the least recently requested URL is forgotten.
	maxFailCounters = 10000
	// maxLogField caps each text a log entry keeps that a client chose
	// (header values, the URL) and each item of LogEntry.Fault.
	maxLogField = 512
	// maxFaultField caps the whole of LogEntry.Fault: its items quote
	// values a client chose (etag=, type=, a Location), each cut at
	// maxLogField, and a real description is a few hundred bytes. With
	// the other fields, an entry keeps at most about 10 KiB, so the log
	// at most about 100 MB at DefaultLogLimit.
	maxFaultField = 4 * maxLogField
	// maxArmBytes caps one armed set: its file name, keys and values
	// (the first value of each key, the only one used), so that armed
	// faults keep at most MaxArmed*maxArmBytes (4 MB) of text.
	maxArmBytes = 4096
)

// Server is the dev server: create it with New, mount Handler, and Close
// it to end throttled responses at once.
type Server struct {
	dataDir string // absolute, symlinks resolved
	webDir  string // absolute, "" = none
	samples []Sample
	logf    func(format string, args ...any)
	token   string // the control token, see ControlHeader

	closing   chan struct{} // closed by Close
	closeOnce sync.Once

	changeMu sync.Mutex // serialises ChangeFile

	live liveSet // responses in progress, for CutNow

	mu       sync.Mutex
	log      []LogEntry // the newest entries, at most logLimit
	logLimit int
	logTotal int                    // entries ever recorded (since ResetLog)
	logWake  chan struct{}          // closed and replaced on every new entry
	pending  map[*LogEntry]struct{} // /files/ requests begun and not yet logged
	fails    failCounters           // fail= counters, by URL
	armed    map[string][]*armedSet // armed faults, by file name
	nArmed   int                    // sets in armed
	versions map[string]int         // content version of each generated file
	digests  map[string][]fileSum   // SHA-256 of its newest versions, see addDigest
}

// errBadName reports a file name that could reach outside its folder.
var errBadName = errors.New("bad file name")

// errNotSample refuses to rewrite a file the server did not generate: it
// may be somebody's own file, put in the data folder to be served.
var errNotSample = errors.New("only a generated sample can be changed")

// errTooMany refuses what would grow the server's memory past its bounds.
var errTooMany = errors.New("too many")

// New checks cfg, creates DataDir, generates the samples that are missing
// and returns a server ready to serve.
func New(cfg Config) (*Server, error) {
	return NewContext(context.Background(), cfg)
}

// NewContext is New with a context that stops sample generation (for
// instance on SIGINT): the partly written file is removed, never left
// behind under its real name.
func NewContext(ctx context.Context, cfg Config) (*Server, error) {
	s, err := newServer(cfg)
	if err != nil {
		return nil, err
	}
	if s.webDir != "" {
		if fi, err := os.Stat(s.webDir); err != nil || !fi.IsDir() {
			s.logf("web folder %s is missing (not built yet?): / answers 404 until it exists", s.webDir)
		}
	}
	if err := s.generateSamples(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

func newServer(cfg Config) (*Server, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("devserver: Config.DataDir is empty")
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("devserver: create data folder: %w", err)
	}
	dataDir, err := realDir(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("devserver: data folder: %w", err)
	}
	var webDir string
	if cfg.WebDir != "" {
		if webDir, err = filepath.Abs(cfg.WebDir); err != nil {
			return nil, fmt.Errorf("devserver: web folder: %w", err)
		}
	}
	for _, sm := range cfg.Samples {
		if _, err := cleanName(sm.Name); err != nil || strings.Contains(sm.Name, "/") {
			return nil, fmt.Errorf("devserver: sample name %q: %w", sm.Name, errBadName)
		}
		if sm.Size < 0 {
			return nil, fmt.Errorf("devserver: sample %s: negative size %d", sm.Name, sm.Size)
		}
	}
	logf := cfg.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	token := cfg.ControlToken
	if token == "" {
		token = newToken()
	}
	limit := cfg.LogLimit
	if limit <= 0 {
		limit = DefaultLogLimit
	}
	return &Server{
		dataDir:  dataDir,
		webDir:   webDir,
		samples:  append([]Sample(nil), cfg.Samples...),
		logf:     logf,
		token:    token,
		logLimit: limit,
		closing:  make(chan struct{}),
		logWake:  make(chan struct{}),
		pending:  make(map[*LogEntry]struct{}),
		fails:    newFailCounters(maxFailCounters),
		armed:    make(map[string][]*armedSet),
		versions: make(map[string]int),
		digests:  make(map[string][]fileSum),
	}, nil
}

// realDir returns dir as an absolute path with symlinks resolved, so that
// "is this path inside dir" can be answered by comparing strings.
func realDir(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	return filepath.EvalSymlinks(abs)
}

// Handler returns the whole site: static bundle, /files/, /api/samples,
// /_login and /_control/. It does its own routing rather than using
// http.ServeMux, because ServeMux answers paths with ".." by a redirect
// before any handler can refuse them.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(s.route)
}

func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	// Every response starts with writeIdle to write in (the deadline of
	// the connection's previous response would still be set).
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(writeIdle))
	p := r.URL.Path
	switch {
	case p == "/files" || p == "/api/samples":
		s.handleFiles(w, r)
	case strings.HasPrefix(p, "/files/"):
		s.handleFiles(w, r)
	case p == loginPath:
		s.handleLogin(w, r)
	case strings.HasPrefix(p, "/_control/"):
		s.handleControl(w, r)
	default:
		s.handleStatic(w, r)
	}
}

// Close ends throttled, stalled and overrunning responses promptly (they
// stop writing and abort their connection), so that http.Server.Shutdown
// does not wait for them. The handler keeps answering other requests.
// Close is idempotent and always returns nil.
func (s *Server) Close() error {
	s.closeOnce.Do(func() { close(s.closing) })
	return nil
}

// Path returns the absolute path of the data file name (slash-separated,
// relative to DataDir), with symlinks resolved. It refuses names with "..",
// ".", empty elements, backslashes or a leading slash, files that do not
// exist, and symlinks that resolve outside DataDir.
func (s *Server) Path(name string) (string, error) {
	clean, err := cleanName(name)
	if err != nil {
		return "", fmt.Errorf("path %q: %w", name, err)
	}
	real, err := filepath.EvalSymlinks(filepath.Join(s.dataDir, filepath.FromSlash(clean)))
	if err != nil {
		return "", fmt.Errorf("path %q: %w", name, err)
	}
	if !within(s.dataDir, real) {
		return "", fmt.Errorf("path %q: resolves outside the data folder: %w", name, errBadName)
	}
	return real, nil
}

// within reports whether p is dir or inside it; both must be clean and
// absolute.
func within(dir, p string) bool {
	rel, err := filepath.Rel(dir, p)
	if err != nil || filepath.IsAbs(rel) {
		return false
	}
	return rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// cleanName checks a slash-separated name taken from a URL or an API call
// and returns it unchanged when it cannot leave its folder by itself and
// names no dotfile: no "..", ".", empty or dot-led elements, no backslash (a separator on Windows,
// and a classic encoded-traversal trick), no NUL, not absolute. Symlinks
// are the business of os.Root, which refuses to follow them outside.
func cleanName(name string) (string, error) {
	switch {
	case name == "":
		return "", fmt.Errorf("empty name: %w", errBadName)
	case strings.ContainsAny(name, "\\\x00"):
		return "", fmt.Errorf("backslash or NUL in name: %w", errBadName)
	case strings.HasPrefix(name, "/") || filepath.IsAbs(name):
		return "", fmt.Errorf("absolute name: %w", errBadName)
	}
	for _, el := range strings.Split(name, "/") {
		if el == "" || el == "." || el == ".." {
			return "", fmt.Errorf("name element %q: %w", el, errBadName)
		}
		if strings.HasPrefix(el, ".") {
			// .git, .env, .htpasswd: dotfiles are private by custom, and
			// the samples' own temporary files are dotfiles.
			return "", fmt.Errorf("name element %q: dotfiles are not served: %w", el, errBadName)
		}
	}
	return name, nil
}

// checkEscapedPath refuses URLs whose path has an encoded "/" or "\":
// once decoded they would split the name differently from what the client
// meant, which is how %2e%2e%2f-style traversals sneak past naive checks.
func checkEscapedPath(u *url.URL) error {
	raw := strings.ToLower(u.RawPath)
	if strings.Contains(raw, "%2f") || strings.Contains(raw, "%5c") {
		return fmt.Errorf("encoded separator in path: %w", errBadName)
	}
	return nil
}

// openRegular opens name in dir through os.Root, which refuses ".." and
// symlinks that lead outside dir, and returns it only if it is a regular
// file. Any failure reads as "not found" to the client.
func openRegular(dir, name string) (*os.File, fs.FileInfo, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, nil, err
	}
	defer root.Close()
	f, err := root.Open(name)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fi, fmt.Errorf("%s: not a regular file: %w", name, fs.ErrNotExist)
	}
	return f, fi, nil
}

// strongETag builds the strong entity tag of a file from its size and
// mtime, like nginx: it changes whenever the file is rewritten (RFC 9110
// §8.8.3), without reading the content.
func strongETag(fi fs.FileInfo) string {
	return ETagOf(fi.Size(), fi.ModTime())
}
