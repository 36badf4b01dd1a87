package protocol

// How a request ends is the second half of the rules about an answer:
// Decide says what to do with its headers, End what to do once its body is
// over (or the request failed before any answer).

// Outcome is how a request ended.
type Outcome int

// The outcomes of a request.
const (
	// EndOK: the body ended where its answer said (or nothing was read).
	EndOK Outcome = iota
	// EndStopped: the download stopped it (a pause, a cancel, a new
	// generation): not the server's doing.
	EndStopped
	// EndStalled: nothing arrived for the stall timeout.
	EndStalled
	// EndShort: the body ended before the bytes its answer announced.
	EndShort
	// EndLong: the body ran on past the bytes its answer announced, where
	// it had to end exactly there (Body.Exact).
	EndLong
	// EndNetwork: the request or its body failed (the connection dropped,
	// a CORS preflight was refused, the browser went offline).
	EndNetwork
)

var outcomeNames = [...]string{"ok", "stopped", "stalled", "short", "long", "network"}

func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return "outcome?"
}

// Ending describes the end of one request.
type Ending struct {
	Outcome Outcome
	// Answered is true once the answer's headers came.
	Answered bool
	// Read is true when its body was read (Decision.Body.Keep), Open when
	// the body's length was not known (Body.Length UnknownSize), and At
	// where in the file an open body ended.
	Read, Open bool
	At         int64
	// Exact is true for a body whose bytes count only once it ended exactly
	// where its answer said (Body.Exact).
	Exact bool
	// CrossOrigin is true for a request to another origin than the page's.
	CrossOrigin bool
	// PlainTrial is true when the download is trying a plain Range after a
	// request with If-Range failed before its answer (see ModeRangedPlain).
	PlainTrial bool
}

// EndDecision is what a download does once a request ended.
type EndDecision struct {
	// Mode is the download's mode from now on.
	Mode Mode
	// Total is the file's length, once an open body showed it
	// (UnknownSize: unchanged).
	Total int64
	// NewGen: the stored bytes are discarded, a new generation begins.
	NewGen bool
	// Discard: the pieces of this body do not count (kept ones are taken
	// back).
	Discard bool
	// Reject counts the answer as one that contradicts its request; Backoff
	// counts a failure (network, stall, short body) and waits before the
	// next request.
	Reject, Backoff bool
	// PlainTrial is whether the download tries plain Range for its next
	// request (CORS fallback).
	PlainTrial bool
	// Notice is what a person may want to know ("" none).
	Notice string
	// Fail: the download ends with the request's failure, untried again:
	// the app asked for fetch()'s behaviour while nothing is stored
	// (App.FirstAnswer), and fetch() rejects at once.
	Fail bool
}

// End decides what the end of request req means for a download in the
// state st.
//
//   - A body that ended where it should: an open body's end is the file's
//     length. A plain Range that went through while the download was
//     trying one (PlainTrial) shows the server's CORS preflight refuses
//     If-Range: the download switches to ModeRangedPlain for good.
//   - Stopped by the download: nothing, but an exact body's pieces do not
//     count (it did not end where it had to).
//   - A body that ran on past an exact end: none of it counts, and the
//     answer counts as a contradiction.
//   - A request that failed before its answer, while nothing is stored,
//     ends a download whose app asked for fetch()'s behaviour
//     (App.FirstAnswer).
//   - Any other failure counts towards the retry policy (and an exact
//     body's pieces do not count); a download that
//     is not resumable (ModeSingle) cannot continue what it has, and starts
//     over. A request with If-Range to another origin that failed before
//     any answer may have been refused by its CORS preflight (If-Range is
//     not a CORS-safelisted header): the next request tries a plain Range;
//     if that fails before its answer too, it was the network.
func End(st Stored, req Request, e Ending) EndDecision {
	mode := st.Mode
	if mode == "" {
		mode = ModeNew
	}
	d := EndDecision{Mode: mode, Total: UnknownSize, PlainTrial: e.PlainTrial}
	switch e.Outcome {
	case EndStopped:
		d.Discard = e.Exact
		return d
	case EndOK:
		if e.Read && e.Open {
			d.Total = e.At
		}
		if e.Read && e.PlainTrial && req.IfRange == "" && mode == ModeRanged {
			d.Mode, d.PlainTrial = ModeRangedPlain, false
			d.Notice = "the server's CORS preflight refuses If-Range; resuming with a plain Range and checking each response's validators"
		}
		return d
	case EndLong:
		d.Discard, d.Reject = true, true
		return d
	}
	if st.App.FirstAnswer && !e.Answered && !st.Established() && st.Bytes == 0 {
		d.Fail = true
		return d
	}
	switch {
	case !e.Answered && req.IfRange != "" && mode == ModeRanged && e.CrossOrigin && e.Outcome != EndStalled:
		d.PlainTrial = true
	case !e.Answered && req.IfRange == "" && e.PlainTrial:
		d.PlainTrial = false
	}
	if mode == ModeSingle && st.Bytes > 0 {
		// Not resumable: what arrived cannot be continued.
		d.NewGen = true
	}
	d.Discard = e.Exact
	d.Backoff = true
	return d
}
