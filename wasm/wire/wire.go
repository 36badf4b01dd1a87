// Package wire is the one description of the objects that cross between
// resumer.js and the Go engine: the options download() takes, with their
// defaults and bounds, and the progress, result and list entries it hands
// back. The program in wasm/cmd/resumer reads and writes JavaScript objects
// only through it, and its tests hold web/resumer.d.ts to it: every member
// the declarations give these objects, and the defaults and bounds their
// comments state, come from here.
//
// It is plain Go: a JavaScript object is read through Object, and written
// as a map that syscall/js turns into one.
package wire

import (
	"fmt"
	"math"
	"time"

	"github.com/go-resumer/resumer/wasm/protocol"
	"github.com/go-resumer/resumer/wasm/resumer"
)

// Object is a JavaScript object handed to Go, read one property at a time.
// A property that is missing, null or of another type reads as absent.
type Object interface {
	Number(name string) (float64, bool)
	String(name string) (string, bool)
	Bool(name string) bool
	// Object is a property that is an object.
	Object(name string) (Object, bool)
	// Headers is a property that is a plain object of strings (resumer.js
	// turns a Headers or an array of pairs into one); nil when absent.
	Headers(name string) map[string]string
}

// Option describes one member of DownloadOptions (or RetryOptions): its
// name in JavaScript and what its comment in resumer.d.ts must state of
// its default and bounds, written from the engine's constants.
type Option struct {
	Name string
	// States are phrases the member's comment holds, word for word.
	States []string
}

// DownloadOptions are the members of the options of download(), in the
// order resumer.d.ts declares them. Those read in JavaScript only (refresh,
// a function; signal) are listed too: the declarations must name them.
var DownloadOptions = []Option{
	{Name: "key"},
	{Name: "headers"},
	{Name: "credentials", States: []string{`Default ` + "`\"same-origin\"`"}},
	{Name: "integrity"},
	{Name: "chunkSize", States: []string{"Default " + size(resumer.DefaultChunkSize), "from " + size(resumer.MinChunkSize) + " to " + size(resumer.MaxChunkSize)}},
	{Name: "connections", States: []string{fmt.Sprintf("Default %d; from 1 to %d", resumer.DefaultConnections, resumer.MaxConnections)}},
	{Name: "flushIntervalMs", States: []string{fmt.Sprintf("(default %d)", resumer.DefaultFlushInterval.Milliseconds())}},
	{Name: "stallTimeoutMs", States: []string{fmt.Sprintf("Default %d; at least %d", resumer.DefaultStallTimeout.Milliseconds(), resumer.MinStallTimeout.Milliseconds())}},
	{Name: "maxBytes", States: []string{"Default: no limit"}},
	{Name: "retry"},
	{Name: "refresh"},
	{Name: "signal"},
}

// RetryOptions are the members of DownloadOptions.retry.
var RetryOptions = []Option{
	{Name: "baseMs", States: []string{fmt.Sprintf("(at least %d). Default %d", protocol.MinRetryDelay.Milliseconds(), protocol.DefaultRetryPolicy.Base.Milliseconds())}},
	{Name: "maxMs", States: []string{fmt.Sprintf("(at most %d minutes). Default %d", int(protocol.MaxRetryDelay.Minutes()), protocol.DefaultRetryPolicy.Max.Milliseconds())}},
	{Name: "attempts", States: []string{fmt.Sprintf("Default %d", protocol.DefaultRetryPolicy.Attempts)}},
	{Name: "jitter", States: []string{fmt.Sprintf("Default %g", protocol.DefaultRetryPolicy.Jitter)}},
}

// LoadOptions are the members of the options of load(), read in
// JavaScript: resumer.js opens the database and hands maxConcurrent to Go
// (MaxConcurrent).
var LoadOptions = []Option{
	{Name: "dbName", States: []string{"Default `\"resumer\"`"}},
	{Name: "maxConcurrent", States: []string{"Default {@link DEFAULT_MAX_CONCURRENT}; 0: no limit"}},
	{Name: "wasmURL"},
	{Name: "workerURL"},
}

// DefaultMaxConcurrent is how many downloads of a Resumer run at once
// unless load() is told otherwise: resumer.js exports it as
// DEFAULT_MAX_CONCURRENT, before any Go runs, and the tests hold its value
// and the declaration's to this one. (A Go Manager runs any number until
// SetMaxConcurrent says otherwise.)
const DefaultMaxConcurrent = 3

// maxConcurrentCap bounds maxConcurrent: any larger number is as good as
// no limit, and must still convert to an int.
const maxConcurrentCap = 1 << 20

// MaxConcurrent reads the maxConcurrent a page sets into what
// Manager.SetMaxConcurrent takes: 0 (no limit) for 0, a negative number,
// NaN, Infinity or what is not a number; whole numbers below 1 << 20 as
// they are, rounded down; larger ones capped there.
func MaxConcurrent(n float64, isNumber bool) int {
	switch {
	case !isNumber || math.IsNaN(n) || math.IsInf(n, 0) || n < 1:
		return 0
	case n > maxConcurrentCap:
		return maxConcurrentCap
	}
	return int(n)
}

// size says n bytes as the declarations do: "8 MiB", "16 KiB", "1 GiB".
func size(n int64) string {
	for _, u := range []struct {
		unit string
		of   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n >= u.of && n%u.of == 0 {
			return fmt.Sprintf("%d %s", n/u.of, u.unit)
		}
	}
	return fmt.Sprintf("%d bytes", n)
}

// Options reads the options of download() that the engine takes (refresh,
// a function, and onprogress are the caller's to add; signal stays in
// JavaScript). firstAnswer and waiting are resumer.fetch's own, not an
// app's options.
func Options(o Object) resumer.Options {
	opts := resumer.Options{
		ChunkSize:     integer(o, "chunkSize"),
		Connections:   int(integer(o, "connections")),
		FlushInterval: millis(o, "flushIntervalMs"),
		StallTimeout:  millis(o, "stallTimeoutMs"),
		MaxBytes:      integer(o, "maxBytes"),
		Header:        o.Headers("headers"),
		FirstAnswer:   o.Bool("firstAnswer"),
		Waiting:       o.Bool("waiting"),
	}
	opts.Key, _ = o.String("key")
	opts.Credentials, _ = o.String("credentials")
	opts.Integrity, _ = o.String("integrity")
	if r, ok := o.Object("retry"); ok {
		jitter, _ := r.Number("jitter")
		opts.Retry = protocol.RetryPolicy{
			Base:     millis(r, "baseMs"),
			Max:      millis(r, "maxMs"),
			Attempts: int(integer(r, "attempts")),
			Jitter:   jitter,
		}
	}
	return opts
}

// maxExact is the largest integer a JS number holds exactly (2^53 - 1).
const maxExact = 1<<53 - 1

// integer reads a whole number, saturated to ±2^53: a float64 beyond the
// range of int64 (1e30, Infinity) has no defined conversion in Go, and
// must not become a negative or zero setting. NaN reads as 0 (the
// default); the engine's checks reject what is out of range.
func integer(o Object, k string) int64 {
	f, _ := o.Number(k)
	switch {
	case math.IsNaN(f):
		return 0
	case f > maxExact:
		return maxExact
	case f < -maxExact:
		return -maxExact
	}
	return int64(f)
}

// millis reads a duration in milliseconds, saturated so that any number
// converts to a Duration of the same sign.
func millis(o Object, k string) time.Duration {
	f, _ := o.Number(k)
	const most = float64(1<<62) / float64(time.Millisecond)
	switch {
	case math.IsNaN(f):
		return 0
	case f > most:
		f = most
	case f < -most:
		f = -most
	}
	return time.Duration(f * float64(time.Millisecond))
}

// sizeOrNull is a length for JavaScript: null while unknown.
func sizeOrNull(n int64) any {
	if n == protocol.UnknownSize {
		return nil
	}
	return n
}

// Progress is a progress event's fields (resumer.d.ts Progress and
// ProgressCounts), decidedBy given as the caller made it (a frozen object,
// kept while the exchange is the same). elsewhere is there only while the
// download waits for another tab that told its state.
func Progress(p resumer.Progress, decidedBy any) map[string]any {
	o := map[string]any{
		// loaded, total and lengthComputable as a ProgressEvent names
		// them; received is loaded's old name (deprecated in 0.6).
		"state": string(p.State), "loaded": p.Received, "lengthComputable": p.Total != protocol.UnknownSize,
		"received": p.Received, "stored": p.Stored, "total": sizeOrNull(p.Total),
		"speed": p.Speed, "attempt": p.Attempt, "retryAt": nil, "errorCode": p.ErrCode, "errorMessage": "",
		"etag": p.Validators.ETag, "lastModified": p.Validators.LastModified,
		"resumable": p.Resumable, "reason": p.Reason.Text, "reasonCode": p.Reason.Code, "notice": p.Notice,
		"noticeCode": p.NoticeCode, "decidedBy": decidedBy, "private": p.Private,
	}
	if !p.RetryAt.IsZero() {
		o["retryAt"] = p.RetryAt.UnixMilli()
	}
	if p.Elsewhere != "" {
		o["elsewhere"] = string(p.Elsewhere)
	}
	if p.Err != nil {
		o["errorMessage"] = p.Err.Error()
	}
	return o
}

// Result is a finished download's fields (resumer.d.ts Result) but its
// blob, which the caller adds: a JS Blob, never copied into Go.
func Result(r resumer.Result) map[string]any {
	return map[string]any{
		"url": r.URL, "key": r.Key, "size": r.Size, "contentType": r.ContentType, "verified": r.Verified,
		"etag": r.Validators.ETag, "lastModified": r.Validators.LastModified,
		"resumable": r.Resumable, "reason": r.Reason.Text, "reasonCode": r.Reason.Code, "restarts": r.Restarts,
		"stats": map[string]any{
			"requests": r.Stats.Requests, "commits": r.Stats.Commits,
			"whole": r.Stats.Whole, "streamed": r.Stats.Streamed,
			"commitMs": float64(r.Stats.CommitTime) / float64(time.Millisecond),
			"setupMs":  float64(r.Stats.Setup) / float64(time.Millisecond),
			"finishMs": float64(r.Stats.Finish) / float64(time.Millisecond),
			"hashMs":   float64(r.Stats.HashTime) / float64(time.Millisecond),
			"stepMs":   float64(r.Stats.StepTime) / float64(time.Millisecond),
		},
	}
}

// Entry is one stored download as list() gives it (resumer.d.ts Entry),
// decidedBy given as the caller made it.
func Entry(in resumer.Info, decidedBy any) map[string]any {
	return map[string]any{
		"key": in.Key, "url": in.URL, "evicted": in.Evicted, "verified": in.Verified, "size": sizeOrNull(in.Total), "received": in.Received, "state": string(in.State),
		"etag": in.Validators.ETag, "lastModified": in.Validators.LastModified, "contentType": in.ContentType,
		"resumable": in.Resumable, "reason": in.Reason.Text, "reasonCode": in.Reason.Code, "restarts": in.Restarts,
		"errorCode": in.ErrCode, "errorMessage": in.ErrMessage, "decidedBy": decidedBy, "private": in.Private,
		"created": in.Created.UnixMilli(), "updated": in.Updated.UnixMilli(),
	}
}

// Usage is what usage() hands back from Go (resumer.d.ts Usage), but usage
// and quota: the browser's estimate, which resumer.js asks for.
func Usage(u resumer.Usage) map[string]any {
	return map[string]any{"stored": u.Stored, "downloads": u.Downloads}
}

// Report is what check() resolves to (resumer.d.ts CheckReport and the
// Finding and Fix in it): protocol.Report in the shape of its JSON.
func Report(r protocol.Report) map[string]any {
	findings := make([]any, len(r.Findings))
	for i, f := range r.Findings {
		findings[i] = Finding(f)
	}
	return map[string]any{
		"url": r.URL, "finalURL": r.FinalURL, "findings": findings,
		"browser": string(r.Browser), "browserText": r.BrowserText, "ios": r.IOS, "iosText": r.IOSText,
		"server": r.Server,
	}
}

// Finding is one finding of a Report (resumer.d.ts Finding).
func Finding(f protocol.Finding) map[string]any {
	proof := make([]any, len(f.Proof))
	for j, p := range f.Proof {
		proof[j] = p
	}
	fix := make([]any, len(f.Fix))
	for j, x := range f.Fix {
		fix[j] = map[string]any{"server": x.Server, "text": x.Text}
	}
	return map[string]any{"id": f.ID, "verdict": string(f.Verdict), "text": f.Text, "proof": proof, "fix": fix}
}
