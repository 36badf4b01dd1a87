//go:build !js && !wasip1

package e2e

import (
	"bufio"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/go-resumer/resumer/serve/internal/procwait"
)

// req is one logged GET, the same for every server.
type req struct {
	Range, IfRange string
	Status         int
	Start, Sent    int64
	Complete       bool
	ETag           string
	Time           time.Time // when it arrived
}

// since returns the requests that arrived at or after t0: those of a
// session the test started then, and not those of one a reload ended.
func since(reqs []req, t0 time.Time) []req {
	var out []req
	t0 = t0.Truncate(time.Millisecond) // nginx logs to the millisecond
	for _, r := range reqs {
		if !r.Time.Before(t0) {
			out = append(out, r)
		}
	}
	return out
}

// sentBy sums the body bytes of reqs.
func sentBy(reqs []req) int64 {
	var n int64
	for _, r := range reqs {
		n += r.Sent
	}
	return n
}

// target is a server the main scenarios run against: the page and the
// file come from the same origin.
type target struct {
	name   string
	origin string
	// url returns the URL of the test file; slow throttles it to 2 MiB/s.
	url func(t *testing.T, slow bool) string
	// change replaces the file with other bytes of the same size.
	change func(t *testing.T)
	// sha is the SHA-256 of the file as served now.
	sha func(t *testing.T) string
	// reqs returns the logged GETs of url, waiting until there are n.
	reqs func(t *testing.T, url string, n int) []req
}

func devTarget() target {
	return target{
		name:   "devserver",
		origin: env.base,
		url: func(t *testing.T, slow bool) string {
			if slow {
				return fileURL(t, medium, rate)
			}
			return fileURL(t, medium, "")
		},
		change: func(t *testing.T) {
			if err := env.srv.ChangeFile(medium); err != nil {
				t.Fatal(err)
			}
		},
		sha:  func(t *testing.T) string { return fileSHA(t, medium) },
		reqs: func(t *testing.T, u string, n int) []req { return devReqs(gets(t, u, n)) },
	}
}

// freePort returns a loopback port nobody listens on (for servers that
// cannot be handed a listener).
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// nginx is Debian's nginx, run by the tests with a config of their own.
type nginx struct {
	dir, data string
	port      int
	cmd       *exec.Cmd
}

var nginxConf = template.Must(template.New("nginx").Parse(`daemon off;
master_process off;
worker_processes 1;
pid {{.Dir}}/nginx.pid;
error_log {{.Dir}}/error.log warn;
events { worker_connections 256; }
http {
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  # One line per request: what the tests check.
  log_format e2e '$request_method|$uri|$args|$http_range|$http_if_range|$status|$body_bytes_sent|$sent_http_content_range|$sent_http_etag|$request_completion|$msec|$request_time';
  access_log {{.Dir}}/access.log e2e;
  client_body_temp_path {{.Dir}}/tmp;
  proxy_temp_path {{.Dir}}/tmp;
  fastcgi_temp_path {{.Dir}}/tmp;
  uwsgi_temp_path {{.Dir}}/tmp;
  scgi_temp_path {{.Dir}}/tmp;
  sendfile on;
  server {
    listen 127.0.0.1:{{.Port}};
    root {{.Web}};
    add_header Cache-Control no-cache;
    location /files/ { alias {{.Data}}/; }
    location /slow/ { alias {{.Data}}/; limit_rate 2m; }
    location /noranges/ { alias {{.Data}}/; max_ranges 0; }
    # docs/servers.md's cross-origin location, verbatim but for alias and rate.
    location /cors/ {
      alias {{.Data}}/;
      limit_rate 2m;
      add_header Access-Control-Allow-Origin * always;
      add_header Access-Control-Expose-Headers "ETag, Last-Modified, Content-Range, Date" always;
      if ($request_method = OPTIONS) {
        add_header Access-Control-Allow-Origin *;
        add_header Access-Control-Allow-Headers "Range, If-Range";
        add_header Access-Control-Max-Age 600;
        return 204;
      }
    }
  }
}
`))

// startNginx serves web and a copy of the test file with nginx.
func startNginx(tmp, web string) (*nginx, error) {
	path, err := exec.LookPath("nginx")
	if err != nil {
		return nil, fmt.Errorf("nginx is not installed (make deps installs it): %w", err)
	}
	n := &nginx{dir: filepath.Join(tmp, "nginx"), data: filepath.Join(tmp, "nginx", "data")}
	if err := os.MkdirAll(filepath.Join(n.dir, "tmp"), 0o755); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(n.data, 0o755); err != nil {
		return nil, err
	}
	if err := writeRandom(filepath.Join(n.data, medium), mediumSize, time.Now().Add(-time.Hour)); err != nil {
		return nil, err
	}
	if n.port, err = freePort(); err != nil {
		return nil, err
	}
	var conf strings.Builder
	if err := nginxConf.Execute(&conf, map[string]any{"Dir": n.dir, "Data": n.data, "Web": web, "Port": n.port}); err != nil {
		return nil, err
	}
	confPath := filepath.Join(n.dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf.String()), 0o644); err != nil {
		return nil, err
	}
	n.cmd = exec.Command(path, "-c", confPath, "-p", n.dir)
	n.cmd.Stderr = os.Stderr
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// nginx writes its pid file once it listens.
	if err := procwait.Until(ctx, n.dir, n.cmd.Start, procwait.NonEmpty(filepath.Join(n.dir, "nginx.pid"))); err != nil {
		n.stop()
		b, _ := os.ReadFile(filepath.Join(n.dir, "error.log"))
		return nil, fmt.Errorf("nginx did not start: %w\n%s", err, b)
	}
	return n, nil
}

func (n *nginx) stop() {
	if n.cmd != nil && n.cmd.Process != nil {
		n.cmd.Process.Kill()
		n.cmd.Wait()
	}
}

// writeRandom writes size random bytes to path through a rename, so that a
// server sees either the old file or the new one, and sets its mtime.
func writeRandom(path string, size int64, mtime time.Time) error {
	b := make([]byte, size)
	rand.Read(b)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	if err := os.Chtimes(tmp, mtime, mtime); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func (n *nginx) target() target {
	origin := "http://127.0.0.1:" + strconv.Itoa(n.port)
	return target{
		name:   "nginx",
		origin: origin,
		url: func(t *testing.T, slow bool) string {
			dir := "/files/"
			if slow {
				dir = "/slow/"
			}
			return origin + dir + medium + "?t=" + testID(t)
		},
		change: func(t *testing.T) {
			// nginx's ETag is the mtime in seconds and the size: a file
			// changed within the same second keeps its ETag. Move the
			// mtime well away, as any real change would.
			if err := writeRandom(filepath.Join(n.data, medium), mediumSize, time.Now().Add(-10*time.Minute)); err != nil {
				t.Fatal(err)
			}
		},
		sha: func(t *testing.T) string { return sha(t, filepath.Join(n.data, medium)) },
		reqs: func(t *testing.T, u string, want int) []req {
			t.Helper()
			// nginx writes a line to its access log as each request ends.
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			var out []req
			err := procwait.Until(ctx, n.dir, nil, func() (bool, error) {
				out = n.log(u)
				return len(out) >= want, nil
			})
			if err != nil {
				t.Fatalf("nginx logged %d requests for %s, want %d: %v", len(out), u, want, err)
			}
			return out
		},
	}
}

// log parses nginx's access log for the GETs of u.
func (n *nginx) log(u string) []req {
	f, err := os.Open(filepath.Join(n.dir, "access.log"))
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []req
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		p := strings.Split(sc.Text(), "|")
		if len(p) != 12 || p[0] != "GET" || !strings.HasSuffix(u, p[1]+"?"+p[2]) {
			continue
		}
		dash := func(s string) string {
			if s == "-" {
				return ""
			}
			return s
		}
		r := req{Range: dash(p[3]), IfRange: dash(p[4]), ETag: dash(p[8]), Complete: p[9] == "OK"}
		r.Status, _ = strconv.Atoi(p[5])
		r.Sent, _ = strconv.ParseInt(p[6], 10, 64)
		r.Start = 0
		if cr := dash(p[7]); cr != "" {
			fmt.Sscanf(cr, "bytes %d-", &r.Start)
		}
		// $msec is when the request ended; less $request_time, when it
		// arrived (both in seconds, to the millisecond).
		end, _ := strconv.ParseFloat(p[10], 64)
		took, _ := strconv.ParseFloat(p[11], 64)
		r.Time = time.UnixMilli(int64((end - took) * 1000))
		out = append(out, r)
	}
	return out
}

// python is python3 -m http.server: HTTP/1.0, no ranges, no ETag.
type python struct {
	port int
	dir  string
	cmd  *exec.Cmd
}

func startPython(tmp, web string) (*python, error) {
	path, err := exec.LookPath("python3")
	if err != nil {
		return nil, fmt.Errorf("python3 is not installed: %w", err)
	}
	p := &python{dir: filepath.Join(tmp, "python")}
	if err := os.CopyFS(p.dir, os.DirFS(web)); err != nil {
		return nil, err
	}
	if err := writeRandom(filepath.Join(p.dir, medium), mediumSize, time.Now().Add(-time.Hour)); err != nil {
		return nil, err
	}
	if p.port, err = freePort(); err != nil {
		return nil, err
	}
	p.cmd = exec.Command(path, "-u", "-m", "http.server", strconv.Itoa(p.port), "--bind", "127.0.0.1", "--directory", p.dir)
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	// It says so once it listens; then its output is not needed.
	lines := bufio.NewReader(out)
	if line, err := lines.ReadString('\n'); err != nil || !strings.HasPrefix(line, "Serving HTTP") {
		p.stop()
		return nil, fmt.Errorf("python3 http.server said %q: %v", line, err)
	}
	go io.Copy(io.Discard, lines)
	return p, nil
}

func (p *python) stop() {
	if p.cmd != nil && p.cmd.Process != nil {
		p.cmd.Process.Kill()
		p.cmd.Wait()
	}
}

func (p *python) origin() string { return "http://127.0.0.1:" + strconv.Itoa(p.port) }
