package protocol

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// model answers a check's requests as a server of a file of size bytes
// would, by ServeRange, with faults that real servers have.
type model struct {
	size        int64
	v           Validators
	noRanges    bool   // answer every request 200 (Range ignored)
	ignoreIf    bool   // drop If-Range before serving
	stripOn206  bool   // no validators on a 206 to If-Range
	stripRanged bool   // no validators on a 206 that does not start at 0
	gzip        bool   // compress when the client accepts gzip
	ifRange200  bool   // answer every If-Range with 200 (a CDN)
	badCR       bool   // 206 with a Content-Range shifted by one
	status      int    // answer this instead of the file
	acceptR     string // Accept-Ranges value ("" none)
	server      string // its Server header
	// CORS: acao is Access-Control-Allow-Origin, aceh the exposed
	// headers, acah the preflight's allowed headers.
	acao, aceh, acah string
}

func (m model) answer(q CheckRequest) CheckAnswer {
	a := CheckAnswer{Request: q, AllowOrigin: m.acao, ExposeHeaders: m.aceh, Server: m.server}
	if q.Kind == CheckPreflight {
		a.Response.Status = 204
		a.AllowHeaders = m.acah
		return a
	}
	if m.status != 0 {
		a.Response = Response{Status: m.status, ContentType: "text/plain"}
		return a
	}
	sq := ServeRequest{Method: q.Method, Range: q.Range, IfRange: q.IfRange, IfMatch: q.IfMatch}
	if m.noRanges || (m.ifRange200 && q.IfRange != "") {
		sq.Range = ""
	}
	if m.ignoreIf {
		sq.IfRange = ""
	}
	s := ServeRange(sq, m.size, m.v)
	resp := Response{Status: s.Status, ContentRange: s.ContentRange, ContentLength: strconv.FormatInt(s.Length, 10),
		ContentType: "application/octet-stream", Validators: m.v, AcceptRanges: m.acceptR}
	if s.Status == 412 {
		resp = Response{Status: 412}
	}
	if s.Status == 206 && ((m.stripOn206 && q.IfRange != "") || (m.stripRanged && s.Start > 0)) {
		resp.Validators = Validators{Date: m.v.Date}
	}
	if s.Status == 206 && m.badCR {
		resp.ContentRange = "bytes " + strconv.FormatInt(s.Start+1, 10) + "-" + strconv.FormatInt(s.Start+s.Length, 10) + "/" + strconv.FormatInt(m.size, 10)
	}
	if m.gzip && q.AcceptEncoding == "gzip" {
		resp.ContentEncoding, resp.ContentLength = "gzip", ""
	}
	a.Response = resp
	return a
}

// run sends a whole check to m and returns the answers, and the request
// count; it fails when a check asks for more than a few requests or any
// Range longer than checkSpan bytes.
func (m model) run(t *testing.T, opts CheckOptions) []CheckAnswer {
	t.Helper()
	var done []CheckAnswer
	for {
		q, ok := NextCheck(done, opts)
		if !ok {
			return done
		}
		if len(done) > 8 {
			t.Fatalf("a check of more than 8 requests: %+v", done)
		}
		if q.Range != "" {
			specs, err := parseRange(q.Range)
			if err != nil || len(specs) != 1 {
				t.Fatalf("check asked for Range %q", q.Range)
			}
			if sp, ok := specs[0].resolve(1 << 40); !ok || sp.Len() > checkSpan {
				t.Fatalf("check asked for %q, more than %d bytes", q.Range, checkSpan)
			}
		}
		done = append(done, m.answer(q))
	}
}

const (
	date   = "Tue, 01 Dec 2026 10:00:00 GMT"
	before = "Mon, 30 Nov 2026 10:00:00 GMT"
)

var good = model{size: 1 << 20, v: Validators{ETag: `"v1"`, LastModified: before, Date: date}, acceptR: "bytes"}

func TestDiagnose(t *testing.T) {
	with := func(f func(*model)) model { m := good; f(&m); return m }
	tests := []struct {
		name    string
		m       model
		origin  string
		browser BrowserVerdict
		ios     bool
		// verdicts that must be in the report, by finding ID.
		want map[string]Verdict
	}{
		{"resumable", good, "", Resumable, true, map[string]Verdict{
			FindingRanges: VerdictOK, FindingValidators: VerdictOK, FindingIfRange: VerdictOK, FindingStale: VerdictOK,
			FindingIfMatch: VerdictOK, FindingCompression: VerdictOK, FindingAcceptRanges: VerdictOK}},
		{"no validators (the iOS case)", with(func(m *model) { m.v = Validators{Date: date} }), "", NotResumable, false,
			map[string]Verdict{FindingRanges: VerdictOK, FindingValidators: VerdictBlocks}},
		{"weak ETag only", with(func(m *model) { m.v = Validators{ETag: `W/"v1"`, Date: date} }), "", NotResumable, true,
			map[string]Verdict{FindingValidators: VerdictBlocks}},
		{"Last-Modified equal to Date", with(func(m *model) { m.v = Validators{LastModified: date, Date: date} }), "", NotResumable, true,
			map[string]Verdict{FindingValidators: VerdictBlocks}},
		{"strong Last-Modified only", with(func(m *model) { m.v = Validators{LastModified: before, Date: date} }), "", Resumable, true,
			map[string]Verdict{FindingValidators: VerdictOK, FindingIfRange: VerdictOK, FindingStale: VerdictOK}},
		{"weak ETag and a strong Last-Modified: plain Range", with(func(m *model) { m.v = Validators{ETag: `W/"v1"`, LastModified: before, Date: date} }), "", Resumable, true,
			map[string]Verdict{FindingValidators: VerdictOK, FindingIfRange: VerdictOK}},
		{"plain Range, 206s without Last-Modified", with(func(m *model) {
			m.v = Validators{ETag: `W/"v1"`, LastModified: before, Date: date}
			m.stripRanged = true
		}), "", NotResumable, true, map[string]Verdict{FindingIfRange: VerdictBlocks}},
		{"cross-origin, ETag and Date hidden", with(func(m *model) { m.acao, m.aceh, m.acah = "*", "Content-Range", "if-range" }), "https://app.example", ResumableSameOrigin, true,
			map[string]Verdict{FindingCORS: VerdictBlocks}},
		{"ranges ignored", with(func(m *model) { m.noRanges = true; m.acceptR = "none" }), "", NotResumable, false,
			map[string]Verdict{FindingRanges: VerdictBlocks}},
		{"If-Range always 200 (a CDN)", with(func(m *model) { m.ifRange200 = true }), "", NotResumable, true,
			map[string]Verdict{FindingRanges: VerdictOK, FindingIfRange: VerdictBlocks}},
		{"If-Range ignored, 206 names its version", with(func(m *model) { m.ignoreIf = true }), "", Resumable, true,
			map[string]Verdict{FindingIfRange: VerdictOK, FindingStale: VerdictWarning}},
		{"If-Range ignored, 206 names no version", with(func(m *model) { m.ignoreIf = true; m.stripOn206 = true }), "", NotResumable, true,
			map[string]Verdict{FindingStale: VerdictBlocks}},
		{"broken Content-Range", with(func(m *model) { m.badCR = true }), "", NotResumable, false,
			map[string]Verdict{FindingRanges: VerdictBlocks}},
		{"compressed ranges for gzip clients", with(func(m *model) { m.gzip = true }), "", Resumable, false,
			map[string]Verdict{FindingCompression: VerdictWarning}},
		{"no Accept-Ranges", with(func(m *model) { m.acceptR = "" }), "", Resumable, true,
			map[string]Verdict{FindingAcceptRanges: VerdictWarning}},
		{"404", with(func(m *model) { m.status = 404 }), "", NotChecked, false,
			map[string]Verdict{FindingReachable: VerdictBlocks}},
		{"cross-origin, all exposed", with(func(m *model) {
			m.acao, m.aceh, m.acah = "*", "ETag, Content-Range, Accept-Ranges, Date", "range, if-range, if-match"
		}), "https://app.example", Resumable, true, map[string]Verdict{FindingCORS: VerdictOK}},
		{"cross-origin, nothing exposed", with(func(m *model) { m.acao, m.acah = "*", "if-range" }), "https://app.example", ResumableSameOrigin, true,
			map[string]Verdict{FindingCORS: VerdictBlocks, FindingValidators: VerdictOK}},
		{"cross-origin, no CORS at all", good, "https://app.example", ResumableSameOrigin, true,
			map[string]Verdict{FindingCORS: VerdictBlocks}},
		{"cross-origin, If-Range refused by the preflight", with(func(m *model) {
			m.acao, m.aceh, m.acah = "https://app.example", "ETag, Content-Range, Date", "range"
		}), "https://app.example", Resumable, true, map[string]Verdict{FindingCORS: VerdictWarning}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			done := tt.m.run(t, CheckOptions{SetEncoding: true, Preflight: tt.origin != ""})
			r := DiagnoseFrom("https://files.example/f.bin", tt.origin, done)
			if r.Browser != tt.browser || r.IOS != tt.ios {
				t.Errorf("browser %q (%s), iOS %v (%s); want %q, iOS %v", r.Browser, r.BrowserText, r.IOS, r.IOSText, tt.browser, tt.ios)
			}
			got := map[string]Verdict{}
			for _, f := range r.Findings {
				got[f.ID] = f.Verdict
				if f.Text == "" || len(f.Proof) == 0 {
					t.Errorf("finding %s says nothing or proves nothing: %+v", f.ID, f)
				}
				if f.Verdict != VerdictOK && len(f.Fix) == 0 && f.ID != FindingReachable {
					t.Errorf("finding %s (%s) names no fix", f.ID, f.Verdict)
				}
			}
			for id, v := range tt.want {
				if got[id] != v {
					t.Errorf("finding %s: %q, want %q\n%s", id, got[id], v, dump(r))
				}
			}
			if r.BrowserText == "" || r.IOSText == "" {
				t.Errorf("a verdict without a reason: %+v", r)
			}
		})
	}
}

// TestDiagnoseAgreesWithDecide: whatever a check concludes about the first
// answer is what a download's own Decide concludes of it.
func TestDiagnoseAgreesWithDecide(t *testing.T) {
	for _, m := range []model{good, {size: 100, v: Validators{Date: date}}, {size: 100, noRanges: true, v: good.v}} {
		done := m.run(t, CheckOptions{})
		r := Diagnose("u", done)
		first, _ := answerOf(done, CheckFirst)
		dec := Decide(Request{Start: 0, End: 1}, unstarted, first.Response, time.Time{})
		if (r.Browser == Resumable) != (dec.Action == Append && dec.Resumable) {
			t.Errorf("%+v: check says %q, Decide %v resumable %v", m, r.Browser, dec.Action, dec.Resumable)
		}
	}
}

func dump(r Report) string {
	var b strings.Builder
	for _, f := range r.Findings {
		b.WriteString(string(f.Verdict) + " " + f.ID + ": " + f.Text + "\n")
	}
	return b.String()
}

func TestServerNamed(t *testing.T) {
	for name, want := range map[string]string{"nginx": ServerNginx, "APACHE": ServerApache, "apache2": ServerApache, "caddy": ServerCaddy,
		"s3": ServerS3, "CloudFront": ServerS3, "S3/CloudFront": ServerS3, "go": ServerGo, "express": ServerExpress, "lighttpd": ServerLighttpd,
		"iis": "", "": "", "any server": ""} {
		got, ok := ServerNamed(name)
		if got != want || ok != (want != "") {
			t.Errorf("ServerNamed(%q) = %q, %v; want %q", name, got, ok, want)
		}
	}
}

// TestFixesForTheServer: each finding lists first the fixes for the
// server that answered (its Server header), or for the one the app names,
// then those for any server, then the others; a server the doctor does
// not know puts "any server" first.
func TestFixesForTheServer(t *testing.T) {
	for _, c := range []struct {
		header, named string
		server        string // Report.Server
		first         string // the validators finding's first fix
	}{
		{"nginx/1.27.3", "", ServerNginx, ServerNginx},
		{"Apache/2.4.62 (Debian)", "", ServerApache, ServerApache},
		{"AmazonS3", "", ServerS3, ServerS3},
		{"Caddy", "", ServerCaddy, ServerCaddy},
		{"lighttpd/1.4.76", "", ServerLighttpd, ServerLighttpd},
		{"", "", "", ServerNginx}, // unknown: the table's order, any server first where it has one
		{"gws", "", "", ServerNginx},
		{"nginx", ServerCaddy, ServerCaddy, ServerCaddy},
	} {
		m := model{size: 1 << 20, v: Validators{Date: date}, acceptR: "bytes", server: c.header}
		r := Diagnose("https://a/f", m.run(t, CheckOptions{}))
		r.ForServer(c.named)
		f := r.find(FindingValidators)
		if r.Server != c.server || len(f.Fix) < 5 || f.Fix[0].Server != c.first {
			t.Errorf("Server %q, named %q: report's server %q, fixes %v; want %q, first %q", c.header, c.named, r.Server, f.Fix, c.server, c.first)
		}
		seen := map[Fix]bool{}
		for _, x := range f.Fix {
			seen[x] = true
		}
		if want := fixesFor(FindingValidators, ReasonNoValidators); len(seen) != len(want) {
			t.Errorf("fixes %v, want the same %d as %v in another order", f.Fix, len(want), want)
		}
	}
	// any server before the others, the named one before both.
	m := model{size: 1 << 20, v: Validators{ETag: `W/"v1"`, Date: date}, acceptR: "bytes", server: "Express"}
	r := Diagnose("https://a/f", m.run(t, CheckOptions{}))
	if f := r.find(FindingValidators); len(f.Fix) != 3 || f.Fix[0].Server != ServerExpress || f.Fix[1].Server != ServerAny {
		t.Errorf("weak ETag from Express: fixes %v", f.Fix)
	}
}
