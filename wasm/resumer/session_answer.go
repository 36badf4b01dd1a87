package resumer

import (
	"errors"
	"fmt"
	"time"

	"github.com/go-resumer/resumer/wasm/protocol"
	"github.com/go-resumer/resumer/wasm/store"
)

// flight is one request, as the session sees it.
type flight struct {
	id    int
	req   protocol.Request
	gen   int64 // the generation it fetches for; a later one makes it stale
	link  int   // the link it was sent with (session.link): a refusal of an older one asks nothing
	whole bool  // planned before it was sent: take the body whole if the answer allows
	eager bool  // the probe: the start of its body is read before the session decides
	// pos is where its next piece goes, end one past its last
	// (UnknownSize: to the end of the body). Before the answer they are
	// the span asked for.
	pos, end  int64
	sent      time.Time
	answered  time.Time // zero until the answer came
	reading   bool      // its body is read (fxPlan)
	readWhole bool      // with Body.Whole
	exact     bool      // its pieces count once the body ended exactly (Body.Exact)
	open      bool      // its body's length is unknown: it ends the file
	received  bool      // all of its body is in hand: it holds no connection
	expectEnd time.Time // when its whole body should have arrived, at the speed measured
	canceled  bool      // fxCancel was sent
	waiting   bool      // it handed a piece and waits for fxMore
	// handed are the pieces it handed over, for a body that turns out
	// broken; held are those not written yet: every piece of an exact
	// body, the last of an open one.
	handed []protocol.Span
	held   []piece
}

// bodyPlan is what a flight does with the body of its answer.
type bodyPlan struct {
	read bool
	// hand: the body goes to the app unread (protocol.Hand), released
	// rather than closed.
	hand bool
	// skip is how many bytes of the body come before the kept ones.
	skip int64
	// length is how many bytes it keeps (UnknownSize: to the body's end).
	// Reading stops there; with exact, the body must end there too.
	length int64
	exact  bool
	// whole: take the body with Body.Whole, else stream it in pieces of at
	// most piece bytes, handed over at least every flush.
	whole bool
	piece int64
	flush time.Duration
}

// answered decides what an answer means and applies it.
func (s *session) answered(ev evAnswer) {
	f := s.flights[ev.id]
	if f == nil {
		return
	}
	f.answered = ev.at
	s.pace.answer(ev.at.Sub(f.sent))
	if f.gen != s.rec.Gen || s.fatal != nil || s.phase != phaseFetch || f.canceled {
		s.emit(fxPlan{f.id, bodyPlan{}}) // stale, or the download is ending
		return
	}
	if f.eager && ev.early.ok {
		s.pace.probe(ev.early)
	}
	if !f.req.Aimed {
		f.req.URL = ev.url
	}
	dec := protocol.Decide(f.req, s.storedView(), ev.resp, s.now)
	plan := s.apply(f, dec, ev.resp)
	f.reading, f.readWhole = plan.read, plan.whole
	if plan.whole {
		f.expectEnd = s.pace.expectEnd(s.now, plan.length)
	}
	if ev.early.size > 0 && plan.read && plan.length == ev.early.size {
		f.received = true // its whole body is in hand: the connection is free
	}
	s.emit(fxPlan{f.id, plan})
}

// apply acts on the decision for one answer. It is the one place where a
// decision changes the download: the generation, what is recorded, the
// back-off, or the end. It returns what the answer's flight does with the
// body.
func (s *session) apply(f *flight, dec protocol.Decision, resp protocol.Response) bodyPlan {
	if dec.Action != protocol.Reject {
		s.rejects = 0
	}
	if dec.Notice != "" {
		s.notice(dec.Notice)
	}
	switch dec.Action {
	case protocol.Append, protocol.Adopt, protocol.Finish:
		s.refreshes = 0
		if s.vouched && resp.URL != "" && !dec.Establish {
			// The first answer through a fresh link: where it came from
			// is where the stored bytes come from now.
			s.rec.FinalURL, s.vouched = protocol.Bounded(resp.URL), false
		}
		if dec.NewGen {
			if dec.Restart && !s.restart() {
				return bodyPlan{}
			}
			s.newGeneration(dec.Changed, f)
		}
		if dec.Establish {
			s.establish(dec)
		}
		if !dec.Body.Keep {
			return bodyPlan{}
		}
		return s.read(f, dec.Body)

	case protocol.Whole:
		if dec.NewGen {
			s.newGeneration(false, nil)
		}
		s.rec.Mode, s.rec.Reason = dec.Mode, dec.Reason
		s.rec.Decided = protocol.NewExchange(f.req, resp)
		s.save(opSave)
		s.report(s.progress(true))

	case protocol.Restart:
		if dec.Restart && !s.restart() {
			return bodyPlan{}
		}
		s.newGeneration(dec.Changed, nil)

	case protocol.Elsewhere:
		// Ask the URL the stored bytes came from, while it answers.
		s.aimed = true

	case protocol.Retry:
		var se *protocol.StatusError
		errors.As(dec.Err, &se)
		s.backoff(dec.RetryAfter, &Error{Code: CodeHTTPStatus, Status: se.Status, Err: dec.Err, Decided: protocol.NewExchange(f.req, resp)})

	case protocol.Reject:
		s.reject(f, dec.Err)

	case protocol.Refresh:
		var se *protocol.StatusError
		errors.As(dec.Err, &se)
		switch {
		case f.link != s.link:
			// Sent with a link since replaced: its span is asked again,
			// with the fresh link.
			return bodyPlan{}
		case s.refreshing:
			// Asked already; asked ahead of the expiry, the link is now
			// refused: nothing more goes out until the fresh one.
			if s.refreshStatus == 0 {
				s.refreshStatus = se.Status
			}
			return bodyPlan{}
		}
		s.notice(fmt.Sprintf("%s answered %d; asking the app for a fresh link", f.req.URL, se.Status))
		s.refresh(se.Status, f.req.URL)

	case protocol.Hand:
		// The flight hands its response over unread and ends: it is not
		// stopped with the others, which would abort that response.
		f.canceled = true
		s.fail(s.failure(dec.Err, f.req, resp))
		return bodyPlan{hand: true}

	default: // protocol.Fail
		s.fail(s.failure(dec.Err, f.req, resp))
	}
	return bodyPlan{}
}

// refresh asks the app for a fresh link (Options.Refresh), because url
// answered status, or (0) because the link in use is about to expire; no
// request goes out until it answers (refreshed).
func (s *session) refresh(status int, url string) {
	s.refreshes++
	s.refreshing, s.refreshStatus, s.aimed = true, status, false
	s.emit(fxRefresh{status: status, url: url})
}

// expiring reports whether the link in use expires within
// protocol.ExpiryMargin, by its own query, and a fresh one may be asked
// for ahead of it: once per expiry, within the refreshes allowed.
func (s *session) expiring() bool {
	return s.cfg.app.CanRefresh && !s.refreshing && !s.linkExpires.IsZero() && !s.linkExpires.Equal(s.renewed) &&
		s.refreshes < protocol.MaxRefreshes && !s.now.Before(s.linkExpires.Add(-protocol.ExpiryMargin))
}

// refreshed goes on once the app answered fxRefresh: with a fresh link
// (the shell points the requests at it), the requests are planned again;
// without one, the download fails with the status that asked for it, or,
// asked ahead of an expiry, goes on with the link it has.
func (s *session) refreshed(ev evRefreshed) {
	s.refreshing = false
	switch status := s.refreshStatus; {
	case ev.err == nil:
		// The app's word that the fresh link leads to the same file: its
		// answers are held to the stored validators and length, not to
		// the stored final URL (a signed link may lead elsewhere).
		s.link++
		s.linkExpires, s.vouched = ev.expires, s.rec.Established()
		if ev.url != "" {
			s.cfg.url = ev.url
			s.rec.Source = protocol.Bounded(ev.url)
		}
	case status == 0:
		s.notice(fmt.Sprintf("no fresh link ahead of the link's expiry (%v); going on with it", ev.err))
	case s.cfg.app.FirstAnswer && !s.rec.Established() && s.storedView().Bytes == 0:
		// As fetch() would, with nothing stored: the server's own answer,
		// not an error of resumer's. The link is asked once more, without
		// a refresh this time, and that answer is handed over (Hand).
		s.cfg.app.CanRefresh = false
	default:
		s.fail(&Error{Code: CodeHTTPStatus, Status: status, Err: fmt.Errorf("no fresh link after %d: %w", status, ev.err)})
	}
}

// failure is the error of a decision on the answer resp to req that ends
// the download, with that exchange.
func (s *session) failure(err error, req protocol.Request, resp protocol.Response) *Error {
	e := s.failureOf(err)
	e.Decided = protocol.NewExchange(req, resp)
	return e
}

func (s *session) failureOf(err error) *Error {
	var (
		se *protocol.StatusError
		ce *protocol.ContentTypeError
		de *protocol.DigestError
		te *protocol.TooLargeError
	)
	switch {
	case errors.As(err, &se):
		return &Error{Code: CodeHTTPStatus, Status: se.Status, Err: err}
	case errors.As(err, &ce):
		return newError(CodeUnexpectedContent, fmt.Errorf("at byte %d: %w", s.ext.Len(), err))
	case errors.As(err, &de):
		return newError(CodeIntegrity, err)
	case errors.As(err, &te):
		return newError(CodeTooLarge, err)
	default:
		return newError(CodeBadResponse, err)
	}
}

// read returns the plan for a body of which body is kept, and moves f's
// span to it.
func (s *session) read(f *flight, body protocol.Body) bodyPlan {
	f.pos, f.end = body.Start, protocol.UnknownSize
	if body.Length != protocol.UnknownSize {
		f.end = body.Start + body.Length
	}
	f.exact, f.open = body.Exact, body.Length == protocol.UnknownSize
	p := bodyPlan{read: true, skip: body.Skip, length: body.Length, exact: body.Exact,
		piece: min(maxStreamPiece, s.cfg.opts.ChunkSize), flush: s.cfg.opts.FlushInterval}
	// Whole only as planned before the request went out, for no more than
	// was asked (a 200 to the probe is the whole file), and only where the
	// answer's own framing ends the body there: then the platform stops a
	// body that would run on.
	p.whole = f.whole && !f.eager && body.Framed && body.Skip == 0 && body.Length != protocol.UnknownSize &&
		body.Length <= f.req.End-f.req.Start
	if p.whole {
		s.stats.Whole++
	} else {
		s.stats.Streamed++
	}
	return p
}

// establish records what a first (or adopted) answer says about the file.
// The record is written, and the space checked, once the next requests are
// out (settle): neither may delay them, and no piece is written before
// both are done.
func (s *session) establish(dec protocol.Decision) {
	s.rec.Mode = dec.Mode
	s.rec.Validators = dec.Validators
	s.rec.Total = dec.Total
	s.rec.FinalURL = dec.URL
	s.rec.ContentType = dec.ContentType
	s.rec.Reason = dec.Reason
	if !dec.Decided.Empty() {
		s.rec.Decided = dec.Decided
	}
	s.rec.Source = protocol.Bounded(s.cfg.url)
	s.rec.Digest, s.rec.DigestFrom, s.rec.Hashed, s.rec.HashState = dec.Digest, dec.DigestFrom, 0, nil
	s.startHash()
	s.rec.State, s.marked, s.unsettled = protocol.Running, true, true
	s.nextQuota = s.ext.Len() + quotaStep
	s.report(s.progress(true))
}

// storedView is what Decide needs to know of the download. Its bytes
// count those being committed and those the flights are reading too: they
// are this version's as much as the committed ones, and an answer that
// would replace them must be held to the same rules.
func (s *session) storedView() protocol.Stored {
	n := s.ext.Len() + s.queuedBytes() // held pieces too
	for _, f := range s.current() {
		if f.reading && f.end != protocol.UnknownSize {
			n += f.end - f.pos
		}
	}
	st := protocol.Stored{
		Mode: s.rec.Mode, Validators: s.rec.Validators, Total: s.rec.Total, Bytes: n,
		URL: s.rec.FinalURL, ContentType: s.rec.ContentType, Reason: s.rec.Reason, HasProof: !s.rec.Decided.Empty(),
		Digest: s.rec.Digest, App: s.cfg.app, Refreshes: s.refreshes,
	}
	if s.vouched {
		st.URL = "" // a fresh link's answers: see refreshed
	}
	return st
}

// restart counts a change of the file that throws stored bytes away, and
// reports whether another is allowed: a server whose every answer names a
// new version (with 200s, or 206s from byte 0) must not make the download
// start over forever, one request after the other.
func (s *session) restart() bool {
	s.restarts++
	if s.restarts > maxRestarts {
		s.fail(newError(CodeBadResponse, fmt.Errorf("the file changed %d times in a row while downloading", s.restarts)))
		return false
	}
	return true
}

// reject counts a response that contradicts its request: a few in a row
// end the download, each one is followed by a back-off.
func (s *session) reject(f *flight, why error) {
	s.rejects++
	err := newError(CodeBadResponse, fmt.Errorf("%s: %w", describe(f.req), why))
	if s.rejects >= maxRejects {
		s.fail(err)
		return
	}
	s.backoff(0, err)
}

// backoff counts a failure and holds every new request for the delay of
// the retry policy, or ends the download when the policy gives up. A
// download that stores new bytes between failures starts counting again,
// so a flaky link never ends a download that is making progress.
func (s *session) backoff(asked time.Duration, cause *Error) {
	s.attempt++
	if s.cfg.opts.Retry.GiveUp(s.attempt) {
		s.fail(cause)
		return
	}
	s.holdUntil = s.now.Add(s.cfg.opts.Retry.Delay(s.attempt, asked, s.cfg.jitter()))
	s.report(fxReport{force: true, retry: &retryFacts{attempt: s.attempt, at: s.holdUntil, err: cause}})
}

// newGeneration discards every stored byte and starts a new generation,
// in the mode the download's record goes back to (single stays single:
// what made ranges unusable is the server's). changed counts it as a
// restart caused by a change of the file. Flights of the old generation
// are stopped, but keep (its body is the new generation's first answer);
// writes of the old generation that land later are deleted as they commit.
func (s *session) newGeneration(changed bool, keep *flight) {
	for _, f := range s.current() {
		if f != keep && !f.canceled {
			f.canceled = true
			s.emit(fxCancel{f.id})
		}
	}
	s.rec.Gen = s.newGen()
	if keep != nil {
		keep.gen = s.rec.Gen
	}
	if changed {
		s.rec.Restarts++
	}
	s.rec.Validators, s.rec.Total = protocol.Validators{}, protocol.UnknownSize
	if s.rec.Mode != protocol.ModeSingle {
		s.rec.Mode, s.rec.Reason, s.rec.FinalURL = protocol.ModeNew, protocol.Reason{}, ""
	}
	// The media type is kept: the next answer from byte 0 is held to it
	// (an HTML login page is no new start of a zip file). The app's
	// digest is kept too; a server's belongs to the version it stated.
	s.stopHash()
	if s.rec.DigestFrom != store.DigestIntegrity {
		s.rec.Digest, s.rec.DigestFrom = protocol.Digest{}, ""
	}
	s.rec.Hashed, s.rec.HashState = 0, nil
	clear(s.pending)
	s.queue = nil
	s.ext = protocol.Extents{}
	s.aimed = false // a new start goes to the download's own URL
	s.reset()
	s.report(s.progress(true))
}

// describe names a request in error messages.
func describe(req protocol.Request) string {
	if req.Whole {
		return "GET without Range"
	}
	return "Range " + req.RangeHeader()
}
