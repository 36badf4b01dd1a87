package protocol

import (
	"strings"
)

// corsSafelisted are the response headers a page of another origin may read
// without Access-Control-Expose-Headers (Fetch standard, "CORS-safelisted
// response-header name").
var corsSafelisted = []string{"Cache-Control", "Content-Language", "Content-Length", "Content-Type", "Expires", "Last-Modified", "Pragma"}

// needsPreflight reports whether a page's request q needs a CORS preflight:
// If-Range and If-Match are not CORS-safelisted request headers; a Range
// with a single range that has a start is (Fetch standard).
func needsPreflight(q CheckRequest) bool {
	return q.IfRange != "" || q.IfMatch != ""
}

// PreflightHeaders is the Access-Control-Request-Headers of CheckPreflight:
// what a browser's preflight for a resume lists (If-Range; Range with a
// start is CORS-safelisted). Some servers (S3) refuse a preflight that
// lists any header they do not allow, so it lists no more.
const PreflightHeaders = "if-range"

// SeenFrom returns the answers of a check as a page on origin would read
// them, for a client that is not a browser and sent each request with that
// Origin: a request whose answer does not allow the origin fails, one that
// needs a preflight fails unless the preflight allowed it, and an answer
// shows only the safelisted and exposed headers. CheckGzip, CheckIfMatch
// and the preflight itself are left out.
func SeenFrom(origin string, done []CheckAnswer) []CheckAnswer {
	pre, sent := answerOf(done, CheckPreflight)
	preOK := sent && pre.Err == "" && allows(pre.AllowOrigin, origin) && pre.Response.Status >= 200 && pre.Response.Status < 300
	// allowed reports whether the preflight allowed every header q sends
	// that needs it.
	allowed := func(q CheckRequest) bool {
		return preOK && (q.IfRange == "" || listed(pre.AllowHeaders, "if-range"))
	}
	var out []CheckAnswer
	for _, a := range done {
		switch a.Request.Kind {
		case CheckGzip, CheckPreflight, CheckIfMatch:
			// A page cannot send the first two; resumer never sends
			// If-Match, and the one preflight does not ask for it.
			continue
		}
		if a.Err != "" {
			out = append(out, a)
			continue
		}
		switch {
		case needsPreflight(a.Request) && !allowed(a.Request):
			a.Err = "the CORS preflight did not allow " + preflightHeaders(a.Request)
		case !allows(a.AllowOrigin, origin):
			a.Err = "CORS: the answer does not allow origin " + origin + " (Access-Control-Allow-Origin: " + orNone(a.AllowOrigin) + ")"
		default:
			a.Response = exposed(a.Response, a.ExposeHeaders)
		}
		if a.Err != "" {
			a.Response = Response{}
		}
		out = append(out, a)
	}
	return out
}

// DiagnoseFrom diagnoses the answers as the client that sent them read them
// and, with an origin, as a page on that origin would (SeenFrom), adding a
// CORS finding; the browser verdict is then "resumable same-origin only"
// when only the first view resumes. The findings are those of the client's
// own view.
func DiagnoseFrom(url, origin string, done []CheckAnswer) Report {
	r := diagnoseFrom(url, origin, done)
	r.ForServer("") // the CORS finding's fixes too
	return r
}

func diagnoseFrom(url, origin string, done []CheckAnswer) Report {
	r := Diagnose(url, done)
	if origin == "" {
		if r.Browser == Resumable {
			r.BrowserText += " (for a page on the file's own origin; --origin checks another)"
		}
		return r
	}
	seen := Diagnose(url, SeenFrom(origin, done))
	f := Finding{ID: FindingCORS, Verdict: VerdictOK, Text: "a page on " + origin + " can resume it"}
	first, _ := answerOf(done, CheckFirst)
	f.Proof = []string{"Origin: " + origin, "Access-Control-Allow-Origin: " + orNone(first.AllowOrigin),
		"Access-Control-Expose-Headers: " + orNone(first.ExposeHeaders)}
	if pre, ok := answerOf(done, CheckPreflight); ok {
		f.Proof = append(f.Proof, "preflight → "+statusText(pre.Response.Status)+", Access-Control-Allow-Headers: "+orNone(pre.AllowHeaders))
	}
	switch {
	case r.Browser != Resumable:
		return r
	case seen.Browser == Resumable:
		// Resumable, maybe through the plain-Range fallback.
		if w := seen.find(FindingIfRange); w.Verdict == VerdictWarning {
			f.Verdict, f.Text, f.Fix = VerdictWarning, "a page on "+origin+" can resume it, without If-Range: "+w.Text, w.Fix
		}
	default:
		f.Verdict, f.Text = VerdictBlocks, "a page on "+origin+" cannot resume it: "+seen.BrowserText
		f.Fix = corsFix(seen)
		r.Browser, r.BrowserText = ResumableSameOrigin, "resumable for a page on the file's own origin; from "+origin+": "+seen.BrowserText
	}
	r.add(f)
	return r
}

// corsFix picks the fix for what stopped a page of another origin.
func corsFix(seen Report) []Fix {
	for _, f := range seen.Findings {
		if f.Verdict != VerdictBlocks {
			continue
		}
		if f.ID == FindingReachable {
			return fixesFor(FindingCORS, "origin")
		}
		if f.Fix != nil {
			return f.Fix
		}
	}
	return fixesFor(FindingValidators, ReasonHiddenHeaders)
}

// exposed returns resp as a page of another origin reads it.
func exposed(resp Response, expose string) Response {
	show := func(name, v string) string {
		if listed(strings.Join(corsSafelisted, ","), name) || listed(expose, name) || strings.TrimSpace(expose) == "*" {
			return v
		}
		return ""
	}
	out := resp
	out.CrossOrigin = true
	out.ContentRange = show("Content-Range", resp.ContentRange)
	out.ContentLength = show("Content-Length", resp.ContentLength)
	out.ContentEncoding = show("Content-Encoding", resp.ContentEncoding)
	out.ContentType = show("Content-Type", resp.ContentType)
	out.RetryAfter = show("Retry-After", resp.RetryAfter)
	out.AcceptRanges = show("Accept-Ranges", resp.AcceptRanges)
	out.Validators = Validators{ETag: show("ETag", resp.Validators.ETag), LastModified: show("Last-Modified", resp.Validators.LastModified),
		Date: show("Date", resp.Validators.Date)}
	out.ReprDigest = show("Repr-Digest", resp.ReprDigest)
	out.ContentDigest = show("Content-Digest", resp.ContentDigest)
	return out
}

// allows reports whether an Access-Control-Allow-Origin value lets origin
// read the answer (a request without credentials: "*" does). After a
// redirect to another origin a browser sends Origin: null (the Fetch
// standard's tainted origin), which only "*" or "null" allow; a client
// that plays the page passes "null" then.
func allows(acao, origin string) bool {
	acao = strings.TrimSpace(acao)
	return acao == "*" || (acao != "" && acao == origin)
}

// listed reports whether name is in a comma-separated header list, compared
// without case; "*" lists everything.
func listed(list, name string) bool {
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if item == "*" || strings.EqualFold(item, name) {
			return true
		}
	}
	return false
}

func preflightHeaders(q CheckRequest) string {
	var h []string
	if q.IfRange != "" {
		h = append(h, "If-Range")
	}
	if q.IfMatch != "" {
		h = append(h, "If-Match")
	}
	return strings.Join(h, " and ")
}

func orNone(v string) string {
	if v == "" {
		return "(none)"
	}
	return v
}
