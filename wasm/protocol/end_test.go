package protocol

import "testing"

func TestEnd(t *testing.T) {
	ranged := Stored{Mode: ModeRanged, Validators: v1, Total: 1000, Bytes: 400}
	single := Stored{Mode: ModeSingle, Total: 1000, Bytes: 400}
	singleEmpty := Stored{Mode: ModeSingle, Total: 1000}
	withIfRange := Request{Start: 400, End: 1000, IfRange: `"e1"`}
	plain := Request{Start: 400, End: 1000}
	open := Request{Whole: true, End: UnknownSize}
	tests := []struct {
		name string
		st   Stored
		req  Request
		e    Ending
		want EndDecision
	}{
		{"a body that ended where it should", ranged, withIfRange, Ending{Outcome: EndOK, Answered: true, Read: true},
			EndDecision{Mode: ModeRanged, Total: UnknownSize}},
		{"an open body's end is the file's length", singleEmpty, open, Ending{Outcome: EndOK, Answered: true, Read: true, Open: true, At: 777},
			EndDecision{Mode: ModeSingle, Total: 777}},
		{"an answer whose body was not read", ranged, withIfRange, Ending{Outcome: EndOK, Answered: true},
			EndDecision{Mode: ModeRanged, Total: UnknownSize}},
		{"a plain Range that went through: CORS refuses If-Range", ranged, plain, Ending{Outcome: EndOK, Answered: true, Read: true, PlainTrial: true},
			EndDecision{Mode: ModeRangedPlain, Total: UnknownSize, Notice: "x"}},
		{"stopped by the download", ranged, withIfRange, Ending{Outcome: EndStopped, Answered: true, Read: true},
			EndDecision{Mode: ModeRanged, Total: UnknownSize}},
		{"stopped before an exact body ended", ranged, withIfRange, Ending{Outcome: EndStopped, Answered: true, Read: true, Exact: true},
			EndDecision{Mode: ModeRanged, Total: UnknownSize, Discard: true}},
		{"a body that ran past an exact end", ranged, withIfRange, Ending{Outcome: EndLong, Answered: true, Read: true, Exact: true},
			EndDecision{Mode: ModeRanged, Total: UnknownSize, Discard: true, Reject: true}},
		{"a dropped connection", ranged, withIfRange, Ending{Outcome: EndNetwork, Answered: true, Read: true},
			EndDecision{Mode: ModeRanged, Total: UnknownSize, Backoff: true}},
		{"a dropped connection in an exact body", ranged, withIfRange, Ending{Outcome: EndNetwork, Answered: true, Read: true, Exact: true},
			EndDecision{Mode: ModeRanged, Total: UnknownSize, Backoff: true, Discard: true}},
		{"a stall", ranged, withIfRange, Ending{Outcome: EndStalled, Answered: true, Read: true},
			EndDecision{Mode: ModeRanged, Total: UnknownSize, Backoff: true}},
		{"a short body", ranged, withIfRange, Ending{Outcome: EndShort, Answered: true, Read: true},
			EndDecision{Mode: ModeRanged, Total: UnknownSize, Backoff: true}},
		{"a single stream cut: start over", single, open, Ending{Outcome: EndNetwork, Answered: true, Read: true, Open: true},
			EndDecision{Mode: ModeSingle, Total: UnknownSize, Backoff: true, NewGen: true}},
		{"a single stream that failed before any byte", singleEmpty, open, Ending{Outcome: EndNetwork},
			EndDecision{Mode: ModeSingle, Total: UnknownSize, Backoff: true}},
		{"If-Range to another origin failed before its answer: try plain Range", ranged, withIfRange, Ending{Outcome: EndNetwork, CrossOrigin: true},
			EndDecision{Mode: ModeRanged, Total: UnknownSize, Backoff: true, PlainTrial: true}},
		{"If-Range to another origin stalled: the network, not CORS", ranged, withIfRange, Ending{Outcome: EndStalled, CrossOrigin: true},
			EndDecision{Mode: ModeRanged, Total: UnknownSize, Backoff: true}},
		{"If-Range to the page's origin failed: the network", ranged, withIfRange, Ending{Outcome: EndNetwork},
			EndDecision{Mode: ModeRanged, Total: UnknownSize, Backoff: true}},
		{"the plain Range failed too: the network", ranged, plain, Ending{Outcome: EndNetwork, CrossOrigin: true, PlainTrial: true},
			EndDecision{Mode: ModeRanged, Total: UnknownSize, Backoff: true}},
		{"a plain Range failed after its answer: still trying", ranged, plain, Ending{Outcome: EndNetwork, Answered: true, Read: true, CrossOrigin: true, PlainTrial: true},
			EndDecision{Mode: ModeRanged, Total: UnknownSize, Backoff: true, PlainTrial: true}},
		{"a fetch's first request failed before its answer: fail at once", asFetch, ProbeRequest(), Ending{Outcome: EndNetwork},
			EndDecision{Mode: ModeNew, Total: UnknownSize, Fail: true}},
		{"a fetch's first request stalled before its answer: fail at once", asFetch, ProbeRequest(), Ending{Outcome: EndStalled},
			EndDecision{Mode: ModeNew, Total: UnknownSize, Fail: true}},
		{"a fetch's first body dropped after its answer: under way, back off", asFetch, ProbeRequest(), Ending{Outcome: EndNetwork, Answered: true, Read: true},
			EndDecision{Mode: ModeNew, Total: UnknownSize, Backoff: true}},
		{"a fetch's resume failed before its answer: back off", Stored{Mode: ModeRanged, Validators: v1, Total: 1000, Bytes: 400, App: App{FirstAnswer: true}}, withIfRange, Ending{Outcome: EndNetwork},
			EndDecision{Mode: ModeRanged, Total: UnknownSize, Backoff: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := End(tt.st, tt.req, tt.e)
			if (got.Notice != "") != (tt.want.Notice != "") {
				t.Errorf("notice %q, want one: %v", got.Notice, tt.want.Notice != "")
			}
			got.Notice, tt.want.Notice = "", ""
			if got != tt.want {
				t.Fatalf("End = %+v, want %+v", got, tt.want)
			}
		})
	}
}
