package protocol

import (
	"strconv"
	"strings"
	"time"
)

// Diagnose judges the answers of a check of url, as the client that sent
// them could read them (a page: its own origin's view). Each answer is
// judged by Decide with what a download would have stored by then, so a
// finding says what a download would do.
//
// Each finding's fixes list first those for the server that answered, if
// its headers name one (Report.Server), then those for any server.
func Diagnose(url string, done []CheckAnswer) Report {
	r := diagnose(url, done)
	if first, ok := answerOf(done, CheckFirst); ok {
		r.Server = ServerOf(first.Server)
	}
	r.ForServer("")
	return r
}

func diagnose(url string, done []CheckAnswer) Report {
	r := Report{URL: url, FinalURL: url}
	first, ok := answerOf(done, CheckFirst)
	if !ok || first.Err != "" {
		why := "no answer"
		if ok {
			why = first.Err
		}
		r.add(Finding{ID: FindingReachable, Verdict: VerdictBlocks, Text: "could not check: " + why,
			Proof: requestLines(first.Request)})
		r.Browser, r.BrowserText = NotChecked, "the URL did not answer a range request: "+why
		r.IOSText = "not checked"
		return r
	}
	resp := first.Response
	if resp.URL != "" {
		r.FinalURL = resp.URL
	}
	probe := Request{Start: 0, End: 1}
	dec := Decide(probe, unstarted, resp, time.Time{})
	if dec.Action == Retry || dec.Action == Fail {
		r.add(Finding{ID: FindingReachable, Verdict: VerdictBlocks,
			Text: "could not check: the server answered " + statusText(resp.Status) + " instead of the file", Proof: exchangeLines(first, "Content-Type")})
		r.Browser, r.BrowserText = NotChecked, "the server answered "+statusText(resp.Status)
		r.IOSText = "not checked"
		return r
	}
	if r.FinalURL != url {
		f := Finding{ID: FindingRedirect, Verdict: VerdictOK, Text: "redirected to " + r.FinalURL + "; the findings are of the answers from there",
			Proof: []string{"GET " + url, "final URL " + r.FinalURL}}
		if isHTML(resp.ContentType) {
			f.Verdict, f.Text = VerdictWarning, "redirected to "+r.FinalURL+", which answers with an HTML page (a sign-in or error page?), not a file"
		}
		r.add(f)
	}

	if !r.has(FindingRedirect) && isHTML(resp.ContentType) {
		r.add(Finding{ID: FindingReachable, Verdict: VerdictWarning, Proof: exchangeLines(first, "Content-Type"),
			Text: "the answer is an HTML page (" + resp.ContentType + "): a sign-in or error page rather than the file?"})
	}
	ranged := r.ranges(first, dec, done)
	validators := r.validators(first, dec)
	r.acceptRanges(done, ranged)
	ifRange := true
	if ranged && validators {
		ifRange = r.ifRange(first, dec, done)
	}
	r.ifMatch(done)
	r.compression(done)

	switch {
	case !ranged:
		r.Browser, r.BrowserText = NotResumable, "the server does not answer range requests usably: "+r.find(FindingRanges).Text
	case !validators:
		r.Browser, r.BrowserText = NotResumable, r.find(FindingValidators).Text
	case !ifRange:
		r.Browser, r.BrowserText = NotResumable, r.blocker().Text
	default:
		r.Browser, r.BrowserText = Resumable, "ranges work and a strong validator proves the version of every piece"
	}
	r.IOS, r.IOSText = iosVerdict(resp, ranged, done)
	return r
}

// iosVerdict says whether URLSession would produce resume data: Apple's
// conditions are a server that supports byte ranges and sends ETag or
// Last-Modified; URLSession also asks for gzip, so a server that
// compresses range answers for such a client breaks its resume. A page of
// another origin cannot tell: CORS hides from it what iOS would see.
func iosVerdict(resp Response, ranged bool, done []CheckAnswer) (bool, string) {
	v := resp.Validators
	gz, sentGzip := answerOf(done, CheckGzip)
	switch {
	case resp.CrossOrigin:
		return false, "not judged from a page of another origin (CORS hides headers URLSession sees): run serve check"
	case !ranged:
		return false, "no: URLSession resumes only from a server that supports byte ranges"
	case v.Empty():
		return false, "no: the server sends neither ETag nor Last-Modified, so cancel(byProducingResumeData:) returns nil"
	case sentGzip && gz.Err == "" && (encoded(gz.Response) || gz.Response.Status != 206):
		return false, "no: URLSession asks for gzip, and this server then answers a range request with " +
			statusText(gz.Response.Status) + " " + orNone(gz.Response.ContentEncoding) + ", not the bytes asked for"
	}
	return true, "yes: byte ranges work and the server sends " + strings.Join(present(v), " and ")
}

func (r *Report) add(f Finding) {
	if f.Verdict != VerdictOK && f.Fix == nil {
		f.Fix = fixesFor(f.ID, "")
	}
	r.Findings = append(r.Findings, f)
}

// blocker returns the first finding that blocks resuming.
func (r *Report) blocker() Finding {
	for _, f := range r.Findings {
		if f.Verdict == VerdictBlocks {
			return f
		}
	}
	return Finding{}
}

func (r *Report) has(id string) bool { return r.find(id).ID != "" }

func (r *Report) find(id string) Finding {
	for _, f := range r.Findings {
		if f.ID == id {
			return f
		}
	}
	return Finding{}
}

// ranges judges the answer to the first byte, and reports whether ranges
// work.
func (r *Report) ranges(first CheckAnswer, dec Decision, done []CheckAnswer) bool {
	proof := exchangeLines(first, "Content-Range", "Content-Length")
	if first.Response.ContentEncoding != "" {
		proof = append(proof, "Content-Encoding: "+shown(first.Response.ContentEncoding))
	}
	switch dec.Action {
	case Append:
		// The length a 206 states must be the file's: the one HEAD gives.
		if h, ok := answerOf(done, CheckHead); ok && h.Err == "" && h.Response.Status == 200 && !encoded(h.Response) {
			if n := ParseContentLength(h.Response.ContentLength); n != UnknownSize && dec.Total != UnknownSize && n != dec.Total {
				r.add(Finding{ID: FindingRanges, Verdict: VerdictBlocks, Proof: append(proof, "HEAD → Content-Length: "+h.Response.ContentLength),
					Text: "the 206 says the file is " + strconv.FormatInt(dec.Total, 10) + " bytes, HEAD says " + h.Response.ContentLength +
						": a download would never end right", Fix: fixesFor(FindingRanges, "")})
				return false
			}
		}
		r.add(Finding{ID: FindingRanges, Verdict: VerdictOK, Text: "a range request gets 206 with the bytes its Content-Range names", Proof: proof})
		return true
	case Finish:
		r.add(Finding{ID: FindingRanges, Verdict: VerdictOK, Text: "the file is empty (416 to the first byte)", Proof: proof})
		return true
	case Adopt:
		r.add(Finding{ID: FindingRanges, Verdict: VerdictBlocks, Proof: proof, Fix: fixesFor(FindingRanges, ReasonNoRanges),
			Text: "the server ignores Range: it answered bytes=0-0 with " + statusText(first.Response.Status) + " and the whole file"})
	case Whole:
		r.add(Finding{ID: FindingRanges, Verdict: VerdictBlocks, Proof: proof, Fix: fixesFor(FindingRanges, dec.Reason.Code), Text: dec.Reason.Text})
	default:
		r.add(Finding{ID: FindingRanges, Verdict: VerdictBlocks, Proof: proof,
			Text: "the answer to a range request is broken (" + errText(dec.Err) + ")"})
	}
	return false
}

// validators judges the version the first answer names, and reports
// whether it proves one.
func (r *Report) validators(first CheckAnswer, dec Decision) bool {
	v := first.Response.Validators
	proof := []string{headerOrNone("ETag", v.ETag), headerOrNone("Last-Modified", v.LastModified), headerOrNone("Date", v.Date)}
	ok, reason := v.Resumable()
	if !ok && first.Response.CrossOrigin {
		// As Decide says it: what a page cannot read may be hidden
		// (Date and ETag are not CORS-safelisted), not missing.
		reason = hiddenReason()
	}
	if ok {
		text := "the strong ETag " + v.ETag + " names the version"
		if _, strong := v.strongETag(); !strong {
			text = "the Last-Modified date names the version (it is at least a second older than Date; an ETag would be better)"
		}
		r.add(Finding{ID: FindingValidators, Verdict: VerdictOK, Text: text, Proof: proof})
		return true
	}
	r.add(Finding{ID: FindingValidators, Verdict: VerdictBlocks, Text: reason.Text, Proof: proof, Fix: fixesFor(FindingValidators, reason.Code)})
	return false
}

// acceptRanges judges the Accept-Ranges header: advice only (RFC 9110
// §14.3), but some clients look for it before they try a range.
func (r *Report) acceptRanges(done []CheckAnswer, ranged bool) {
	a, ok := answerOf(done, CheckHead)
	if !ok || a.Err != "" || a.Response.Status != 200 {
		a, _ = answerOf(done, CheckFirst)
	}
	ar := strings.ToLower(strings.TrimSpace(a.Response.AcceptRanges))
	proof := []string{a.Request.Method + " → " + statusText(a.Response.Status), headerOrNone("Accept-Ranges", a.Response.AcceptRanges)}
	switch {
	case ar == "bytes":
		r.add(Finding{ID: FindingAcceptRanges, Verdict: VerdictOK, Text: "the server says Accept-Ranges: bytes", Proof: proof})
	case ranged && ar == "none":
		r.add(Finding{ID: FindingAcceptRanges, Verdict: VerdictWarning, Proof: proof,
			Text: "the server says Accept-Ranges: none, yet answers ranges; clients that believe it never try"})
	case ranged && a.Response.CrossOrigin:
		r.add(Finding{ID: FindingAcceptRanges, Verdict: VerdictOK, Proof: proof,
			Text: "Accept-Ranges is not exposed to this origin; resumer relies on the 206 alone"})
	case ranged:
		r.add(Finding{ID: FindingAcceptRanges, Verdict: VerdictWarning, Proof: proof,
			Text: "the server sends no Accept-Ranges: bytes; resumer relies on the 206, but some download managers check it before they try a range"})
	}
}

// ifRange judges the resume requests: If-Range with the server's own
// validator must get the range, a stale one the whole file. It reports
// whether a resume works.
func (r *Report) ifRange(first CheckAnswer, dec Decision, done []CheckAnswer) bool {
	mid, end := middle(dec.Total)
	if mid == end {
		return true
	}
	st := Stored{Mode: ModeRanged, Validators: dec.Validators, Total: dec.Total, Bytes: mid,
		URL: first.Response.URL, ContentType: first.Response.ContentType}
	req := Request{Start: mid, End: end}
	ok := true
	m, hasMiddle := answerOf(done, CheckMiddle)
	if _, sent := answerOf(done, CheckIfRange); !sent && hasMiddle {
		// No strong validator for If-Range (a weak ETag beside a strong
		// Last-Modified): resumes use plain Range, and each 206 must prove
		// its version itself, as Decide checks it.
		proof := exchangeLines(m, "Content-Range", "ETag", "Last-Modified")
		if d := Decide(req, st, m.Response, time.Time{}); m.Err == "" && d.Action == Append {
			r.add(Finding{ID: FindingIfRange, Verdict: VerdictOK, Proof: proof,
				Text: "resumes ask with plain Range (no strong ETag to send in If-Range), and each 206 carries the same strong Last-Modified"})
		} else {
			ok = false
			r.add(Finding{ID: FindingIfRange, Verdict: VerdictBlocks, Proof: proof, Fix: fixesFor(FindingValidators, ReasonWeakETag),
				Text: "resumes must ask with plain Range (no strong ETag for If-Range), and the 206 to one does not prove its version (" + errText(d.Err) + ")"})
		}
	}
	if a, sent := answerOf(done, CheckIfRange); sent {
		req.IfRange = a.Request.IfRange
		proof := exchangeLines(a, "Content-Range", "ETag", "Last-Modified")
		// A download of another origin falls back to plain Range when a
		// request with If-Range fails (its preflight refused): each 206
		// must then prove its version itself. A same-origin download (or
		// one redirected to another origin) does not.
		redirected := first.Response.URL != "" && first.Response.URL != r.URL
		cors := hasMiddle && m.Response.CrossOrigin && !redirected
		if a.Err != "" && !cors {
			ok = false
			r.add(Finding{ID: FindingIfRange, Verdict: VerdictBlocks, Proof: proof,
				Text: "a resume (Range with If-Range) got no answer (" + a.Err + ")"})
		} else if a.Err != "" {
			plain := Decide(Request{Start: mid, End: end}, st, m.Response, time.Time{})
			proof = append(proof, exchangeLines(m, "Content-Range", "ETag", "Last-Modified")...)
			if m.Err == "" && plain.Action == Append {
				r.add(Finding{ID: FindingIfRange, Verdict: VerdictWarning, Proof: proof, Fix: fixesFor(FindingCORS, "if-range"),
					Text: "a request with If-Range failed (" + a.Err + "); resumer falls back to plain Range, checking each 206's own validator"})
			} else {
				ok = false
				r.add(Finding{ID: FindingIfRange, Verdict: VerdictBlocks, Proof: proof, Fix: fixesFor(FindingCORS, "if-range"),
					Text: "a request with If-Range failed (" + a.Err + "), and a plain range answer does not prove its version"})
			}
		} else {
			switch d := Decide(req, st, a.Response, time.Time{}); {
			case a.Response.Status == 200:
				// resumer keeps its bytes and skips what it has of such a
				// body; the server still sends the file from byte 0.
				ok = false
				r.add(Finding{ID: FindingIfRange, Verdict: VerdictBlocks, Proof: proof, Fix: fixesFor(FindingIfRange, "200"),
					Text: "the server answers If-Range holding its own current validator with 200 and the whole file, so every resume fetches the file from byte 0 again"})
			case d.Action == Append:
				r.add(Finding{ID: FindingIfRange, Verdict: VerdictOK, Proof: proof,
					Text: "a resume (Range with If-Range: " + req.IfRange + ") gets 206 with the bytes asked for"})
			default:
				ok = false
				r.add(Finding{ID: FindingIfRange, Verdict: VerdictBlocks, Proof: proof,
					Text: "the answer to a resume is unusable (" + d.Action.String() + ": " + errText(d.Err) + ")"})
			}
		}
	}
	if a, sent := answerOf(done, CheckStale); sent && a.Err == "" {
		stale := Validators{ETag: a.Request.IfRange, Date: dec.Validators.Date}
		if a.Request.IfRange == StaleDate {
			stale = Validators{LastModified: StaleDate, Date: dec.Validators.Date}
		}
		staleSt := st
		staleSt.Validators = stale
		d := Decide(Request{Start: mid, End: end, IfRange: a.Request.IfRange}, staleSt, a.Response, time.Time{})
		proof := exchangeLines(a, "Content-Range", "Content-Length", "ETag", "Last-Modified")
		switch {
		case a.Response.Status == 200:
			r.add(Finding{ID: FindingStale, Verdict: VerdictOK, Proof: proof,
				Text: "If-Range naming another version gets the whole file (200), as RFC 9110 §13.1.5 requires"})
		case d.Action == Append:
			ok = false
			r.add(Finding{ID: FindingStale, Verdict: VerdictBlocks, Proof: proof, Fix: fixesFor(FindingStale, ""),
				Text: "the server ignores If-Range and its 206 names no version: after the file changes, a resume would join bytes of two versions"})
		case a.Response.Status == 206:
			r.add(Finding{ID: FindingStale, Verdict: VerdictWarning, Proof: proof, Fix: fixesFor(FindingStale, ""),
				Text: "the server ignores If-Range; resumer still sees a change by the 206's own validator, but clients that trust If-Range would join two versions"})
		}
	}
	return ok
}

// ifMatch judges If-Match with the server's ETag: not what resumer sends,
// but what some clients resume with.
func (r *Report) ifMatch(done []CheckAnswer) {
	a, sent := answerOf(done, CheckIfMatch)
	if !sent || a.Err != "" {
		return
	}
	proof := exchangeLines(a, "Content-Range", "ETag")
	if a.Response.Status == 412 {
		r.add(Finding{ID: FindingIfMatch, Verdict: VerdictWarning, Proof: proof,
			Text: "the server refuses its own ETag in If-Match (412): its ETags change between requests, or it compares them wrongly; clients that resume with If-Match start over"})
		return
	}
	r.add(Finding{ID: FindingIfMatch, Verdict: VerdictOK, Proof: proof, Text: "If-Match with the server's ETag is honoured"})
}

// compression judges a range request that accepts gzip.
func (r *Report) compression(done []CheckAnswer) {
	a, sent := answerOf(done, CheckGzip)
	if !sent || a.Err != "" {
		return
	}
	proof := exchangeLines(a, "Content-Encoding", "Content-Range")
	if !encoded(a.Response) {
		r.add(Finding{ID: FindingCompression, Verdict: VerdictOK, Proof: proof, Text: "range answers are not compressed, even for a client that accepts gzip"})
		return
	}
	r.add(Finding{ID: FindingCompression, Verdict: VerdictWarning, Proof: proof,
		Text: "a range request that accepts gzip gets a compressed answer (" + statusText(a.Response.Status) + ", Content-Encoding: " +
			a.Response.ContentEncoding + "); browsers ask for identity with Range, but clients that accept gzip (URLSession, curl --compressed) get offsets of the compressed bytes"})
}

func statusText(s int) string { return "HTTP " + strconv.Itoa(s) }

func errText(err error) string {
	if err == nil {
		return "no reason given"
	}
	return err.Error()
}

func isHTML(ct string) bool {
	mt := MediaType(ct)
	return mt == "text/html" || mt == "application/xhtml+xml"
}

func present(v Validators) []string {
	var out []string
	if v.ETag != "" {
		out = append(out, "ETag")
	}
	if v.LastModified != "" {
		out = append(out, "Last-Modified")
	}
	return out
}

func headerOrNone(name, v string) string {
	if v == "" {
		return "(no " + name + ")"
	}
	return name + ": " + shown(v)
}

// requestLines are the lines of a check's request.
func requestLines(q CheckRequest) []string {
	out := []string{q.Method + " (" + string(q.Kind) + ")"}
	for _, h := range []Field{{"Range", q.Range}, {"If-Range", q.IfRange}, {"If-Match", q.IfMatch}, {"Accept-Encoding", q.AcceptEncoding}} {
		if h.Value != "" {
			out = append(out, h.Name+": "+shown(h.Value))
		}
	}
	return out
}

// exchangeLines are the lines of a request and of its answer: the status
// and the headers named, each as sent or as "(no Name)".
func exchangeLines(a CheckAnswer, names ...string) []string {
	out := requestLines(a.Request)
	if a.Err != "" {
		return append(out, "→ no answer: "+a.Err)
	}
	x := NewExchange(Request{Whole: true}, a.Response)
	out = append(out, "→ "+statusText(a.Response.Status))
	for _, n := range names {
		out = append(out, headerOrNone(n, x.Get(n)))
	}
	return out
}
