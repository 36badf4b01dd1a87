//go:build linux

package doctor_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-resumer/resumer/serve/doctor"
	"github.com/go-resumer/resumer/serve/internal/procwait"
	"github.com/go-resumer/resumer/wasm/protocol"
)

// Real servers from Debian's packages, each started by the test on
// loopback with a config of its own: its default, and one
// misconfiguration whose fix the report must name.

// realServer is a server process serving dir/www on 127.0.0.1:port.
type realServer struct {
	name string
	// config writes the server's config into dir for port, with extra
	// lines in its site, and returns the command that runs it in the
	// foreground and the file it writes once it listens.
	config func(dir string, port int, extra string) (cmd []string, ready string)
}

var nginx = realServer{"nginx", func(dir string, port int, extra string) ([]string, string) {
	conf := fmt.Sprintf(`daemon off;
master_process off;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log;
events {}
http {
  access_log %[1]s/access.log;
  client_body_temp_path %[1]s/tmp;
  proxy_temp_path %[1]s/tmp;
  fastcgi_temp_path %[1]s/tmp;
  uwsgi_temp_path %[1]s/tmp;
  scgi_temp_path %[1]s/tmp;
  types { application/octet-stream bin; }
  server {
    listen 127.0.0.1:%[2]d;
    root %[1]s/www;
    %[3]s
  }
}
`, dir, port, extra)
	write(dir, "nginx.conf", conf)
	return []string{"/usr/sbin/nginx", "-p", dir, "-c", filepath.Join(dir, "nginx.conf")}, filepath.Join(dir, "nginx.pid")
}}

var apache = realServer{"apache2", func(dir string, port int, extra string) ([]string, string) {
	const mods = "/usr/lib/apache2/modules"
	conf := fmt.Sprintf(`ServerRoot %[1]s
LoadModule mpm_event_module %[4]s/mod_mpm_event.so
LoadModule authz_core_module %[4]s/mod_authz_core.so
LoadModule mime_module %[4]s/mod_mime.so
LoadModule headers_module %[4]s/mod_headers.so
ServerName localhost
Listen 127.0.0.1:%[2]d
PidFile %[1]s/apache.pid
DefaultRuntimeDir %[1]s
Mutex file:%[1]s default
ErrorLog %[1]s/error.log
User nobody
Group nogroup
LogFormat "%%r %%>s %%B" plain
CustomLog %[1]s/access.log plain
TypesConfig /etc/mime.types
DocumentRoot %[1]s/www
<Directory %[1]s/www>
  Require all granted
</Directory>
%[3]s
`, dir, port, extra, mods)
	write(dir, "apache.conf", conf)
	return []string{"/usr/sbin/apache2", "-f", filepath.Join(dir, "apache.conf"), "-DFOREGROUND"}, filepath.Join(dir, "apache.pid")
}}

var caddy = realServer{"caddy", func(dir string, port int, extra string) ([]string, string) {
	conf := fmt.Sprintf(`{
  admin off
  auto_https off
  storage file_system %[1]s/caddy
}
http://127.0.0.1:%[2]d {
  root * %[1]s/www
  file_server
  %[3]s
}
`, dir, port, extra)
	write(dir, "Caddyfile", conf)
	return []string{"/usr/bin/caddy", "run", "--config", filepath.Join(dir, "Caddyfile"), "--adapter", "caddyfile",
		"--pidfile", filepath.Join(dir, "caddy.pid")}, filepath.Join(dir, "caddy.pid")
}}

var lighttpd = realServer{"lighttpd", func(dir string, port int, extra string) ([]string, string) {
	conf := fmt.Sprintf(`server.document-root = "%[1]s/www"
server.bind = "127.0.0.1"
server.port = %[2]d
server.pid-file = "%[1]s/lighttpd.pid"
server.errorlog = "%[1]s/error.log"
mimetype.assign = (".bin" => "application/octet-stream")
%[3]s
`, dir, port, extra)
	write(dir, "lighttpd.conf", conf)
	return []string{"/usr/sbin/lighttpd", "-D", "-f", filepath.Join(dir, "lighttpd.conf")}, filepath.Join(dir, "lighttpd.pid")
}}

func write(dir, name, text string) {
	if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
		panic(err)
	}
}

// start runs s with extra config lines and returns the URL of a 4 MiB file
// it serves. The server is stopped when the test ends.
func (s realServer) start(t *testing.T, extra string) string {
	t.Helper()
	cmdline, _ := s.config(t.TempDir(), 1, "")
	if _, err := os.Stat(cmdline[0]); err != nil {
		t.Skipf("%s is not installed (.ci/deps installs it): %v", s.name, err)
	}
	// The servers drop privileges to read the files: a tree all may read.
	dir, err := os.MkdirTemp("", "resumer-"+s.name+"-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	for _, d := range []string{dir, filepath.Join(dir, "www"), filepath.Join(dir, "tmp")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		os.Chmod(d, 0o755)
	}
	body := bytes.Repeat([]byte("resumer!"), 512<<10)
	file := filepath.Join(dir, "www", "f.bin")
	if err := os.WriteFile(file, body, 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour) // Last-Modified well before Date: strong
	os.Chtimes(file, old, old)
	port := freePort(t)
	cmdline, ready := s.config(dir, port, extra)
	cmd := exec.Command(cmdline[0], cmdline[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_DATA_HOME="+dir, "XDG_CONFIG_HOME="+dir)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// The pid file is written once the server listens.
	if err := procwait.Until(ctx, dir, func() error {
		if err := cmd.Start(); err != nil {
			return err
		}
		go func() {
			cmd.Wait()
			cancel() // it ended: stop waiting for it
		}()
		return nil
	}, procwait.NonEmpty(ready)); err != nil {
		t.Fatalf("%s did not start: %v\n%s", s.name, err, out.String())
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Process.Wait()
	})
	c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatalf("%s wrote %s but does not listen: %v\n%s", s.name, ready, err, out.String())
	}
	c.Close()
	return fmt.Sprintf("http://127.0.0.1:%d/f.bin", port)
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestCheckRealServers: each real server's default is resumable, and a
// common misconfiguration blocks resuming with the fix for that server
// named in the report, first: the server is known by its Server header,
// and the text shows its fix and names the others.
func TestCheckRealServers(t *testing.T) {
	for _, tt := range []struct {
		name   string
		srv    realServer
		extra  string
		want   protocol.BrowserVerdict
		blocks string // the finding that blocks
		fix    string // text the fix for this server must hold
	}{
		{"nginx", nginx, "", protocol.Resumable, "", ""},
		{"nginx etag off", nginx, "etag off;", protocol.Resumable, "", ""},
		{"nginx max_ranges 0", nginx, "max_ranges 0;", protocol.NotResumable, protocol.FindingRanges, "max_ranges 0;"},
		{"apache", apache, "", protocol.Resumable, "", ""},
		{"apache MaxRanges none", apache, "MaxRanges none", protocol.NotResumable, protocol.FindingRanges, "MaxRanges none"},
		{"caddy", caddy, "", protocol.Resumable, "", ""},
		{"caddy without validators", caddy, "header -ETag\n  header -Last-Modified", protocol.NotResumable, protocol.FindingValidators, "header -ETag"},
		{"lighttpd", lighttpd, "", protocol.Resumable, "", ""},
		{"lighttpd without ranges", lighttpd, `server.range-requests = "disable"`, protocol.NotResumable, protocol.FindingRanges, `server.range-requests = "disable"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			u := tt.srv.start(t, tt.extra)
			res, err := doctor.Check(context.Background(), u, doctor.Options{})
			if err != nil {
				t.Fatal(err)
			}
			var text bytes.Buffer
			res.WriteText(&text)
			if res.Browser != tt.want {
				t.Fatalf("verdict %q, want %q\n%s", res.Browser, tt.want, text.String())
			}
			if tt.blocks == "" {
				for _, f := range res.Findings {
					if f.Verdict == protocol.VerdictBlocks {
						t.Errorf("finding %s blocks\n%s", f.ID, text.String())
					}
				}
				return
			}
			var found *protocol.Finding
			for i, f := range res.Findings {
				if f.ID == tt.blocks && f.Verdict == protocol.VerdictBlocks {
					found = &res.Findings[i]
				}
			}
			if found == nil {
				t.Fatalf("no blocking %s finding\n%s", tt.blocks, text.String())
			}
			named := false
			for _, x := range found.Fix {
				named = named || (strings.EqualFold(x.Server, tt.srv.name) || (tt.srv.name == "apache2" && x.Server == protocol.ServerApache)) && strings.Contains(x.Text, tt.fix)
			}
			if !named {
				t.Errorf("the %s fix does not name %q: %+v", tt.srv.name, tt.fix, found.Fix)
			}
			if first := found.Fix[0].Server; !strings.EqualFold(first, tt.srv.name) && !(tt.srv.name == "apache2" && first == protocol.ServerApache) {
				t.Errorf("report's server %q; the first fix is for %s, not %s: %+v", res.Server, first, tt.srv.name, found.Fix)
			}
			if out := text.String(); !strings.Contains(out, tt.fix) || !strings.Contains(out, "--server NAME") || strings.Contains(out, "fix (Express)") {
				t.Errorf("the text does not show this server's fix alone, naming the others:\n%s", out)
			}
		})
	}
}

// TestCheckServerWithoutRanges: Python's http.server answers every Range
// with the whole file.
func TestCheckServerWithoutRanges(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("no python3")
	}
	dir := t.TempDir()
	write(dir, "f.bin", strings.Repeat("x", 1<<20))
	port := freePort(t)
	cmd := exec.Command(py, "-u", "-m", "http.server", strconv.Itoa(port), "--bind", "127.0.0.1", "--directory", dir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	// It says so once it listens.
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "Serving HTTP") {
		t.Fatalf("http.server said %q, %v", line, err)
	}
	res, err := doctor.Check(context.Background(), fmt.Sprintf("http://127.0.0.1:%d/f.bin", port), doctor.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Browser != protocol.NotResumable || res.IOS || res.Exit() != doctor.ExitNotResumable {
		t.Fatalf("verdict %q, iOS %v, exit %d", res.Browser, res.IOS, res.Exit())
	}
	for _, f := range res.Findings {
		if f.ID == protocol.FindingRanges && f.Verdict == protocol.VerdictBlocks && strings.Contains(f.Text, "ignores Range") {
			return
		}
	}
	t.Fatalf("no finding that the server ignores Range: %+v", res.Findings)
}
