package resumer

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/go-resumer/resumer/wasm/protocol"
	"github.com/go-resumer/resumer/wasm/store"
)

// How a download is fetched
//
// A run is one session of a download: from reading what is stored until it
// finishes, fails, or is stopped (pause, cancel, a full storage). Its core is
// a session: a pure state machine that takes events (an answer came, a
// piece of a body arrived, a write committed, a timer fired, the user
// stopped it) and returns effects (send a request, read or cut a body,
// write a piece, save the record, hash, finish, fail). It starts no
// goroutine, holds no channel, reads no clock (every event carries the
// time it happened) and calls no platform: every rule it applies about an
// answer comes from protocol.Decide and protocol.End, and everything it
// does happens through its effects. The shell (shell.go) carries the
// effects out and turns what happens into events; tests drive a session
// event by event, with no network and no clock (session_test.go).
//
// A session goes through its phases in order; each phase's handling says
// what leads out of it:
//
//	load ──▶ fetch ──▶ drain ──▶ verify ──▶ join ──▶ end
//	            │         ▲                            ▲
//	            └─────────┴── (stopped, or failed) ────┘
//
// Fetching plans requests by the download's mode (protocol.Mode): the probe
// (ModeNew), ranges of a fixed grid (ModeRanged, ModeRangedPlain), or one
// stream (ModeSingle). Each request is a flight; its answer is decided by
// protocol.Decide and the decision applied in one place (apply); its body
// arrives as pieces the session asks for one at a time, so that at most
// maxWrites pieces wait for storage (back-pressure); a piece counts only
// once committed; its end is decided by protocol.End.

// Limits that keep a misbehaving server from holding a download in a loop.
const (
	// maxRejects is how many contradicting responses in a row end the
	// download with CodeBadResponse.
	maxRejects = 3
	// maxRestarts is how many times in a row the file may change under a
	// download (or its stored URL vanish) before it gives up: a file that
	// changes on every request cannot be downloaded whole.
	maxRestarts = 5
	// maxWrites is how many pieces may be committing at once. Commits on
	// the same object store queue behind each other; the store spreads
	// them over its lanes, and the next request goes out while they
	// commit. It is also the back-pressure that keeps a fast network from
	// piling up Blobs.
	maxWrites = 4
	// maxStreamPiece caps a streamed piece: its bytes pass through the JS
	// heap as the Uint8Arrays of the stream until they are joined into a
	// Blob, so large pieces on a fast link would be large garbage.
	maxStreamPiece int64 = 2 << 20
	// quotaStep is how often, in stored bytes, a download of unknown
	// length checks that the storage has room for more.
	quotaStep int64 = 32 << 20
	// hashSaveStep is how many hashed bytes may go unrecorded: what a
	// resume after a reload hashes again.
	hashSaveStep int64 = 16 << 20
)

// sessionConfig is what a session is told at its start.
type sessionConfig struct {
	key  string  // the download's key in the store
	url  string  // the link it was asked for (Record.Source)
	opts Options // with defaults
	// owner is the Record.Owner of this download: the keyed hash of the
	// credentials it is made with, "" for none.
	owner string
	// app is what the app asks of every answer.
	app protocol.App
	// seed drives the generation ids; jitter returns the uniform numbers
	// in [0, 1) that spread back-offs (Manager.Rand).
	seed   uint64
	jitter func() float64
	// estimates is true where the platform can tell the free storage
	// (fxSpace is answered).
	estimates bool
}

type phase int

const (
	phaseLoad phase = iota
	phaseFetch
	phaseDrain
	phaseVerify
	phaseJoin
	phaseEnd
)

// session is one run of a download; see "How a download is fetched".
type session struct {
	cfg sessionConfig
	rnd *rand.Rand
	now time.Time // when the event being handled happened
	out []effect  // the effects of the event being handled

	phase phase
	// after is what follows the drain: the verify phase, or the end with
	// the cause held in fatal.
	finishing bool

	rec store.Record
	ext protocol.Extents // committed bytes of rec.Gen
	// supplant is true while the stored record is another owner's
	// (credentials): the first write of rec discards it and its chunks.
	supplant  bool
	flights   map[int]*flight // requests in progress, of any generation
	nextID    int             // the next flight's id
	pending   map[int64]int64 // start → end of pieces of rec.Gen being written
	writes    int             // writes not committed, of any generation
	queue     []piece         // pieces of rec.Gen waiting for a write
	holdUntil time.Time       // no request goes out before (backing off)
	timerAt   time.Time       // the wake-up the shell holds
	attempt   int             // failures in a row without progress
	rejects   int             // contradicting responses in a row
	restarts  int             // changes of the file in a row
	highWater int64           // most bytes stored in this session: progress means beating it
	pace      pace            // what the link showed (session_pace.go)
	fatal     error           // the cause the session ends with, once set
	answer    any             // the server's answer handed to the app (protocol.Hand)
	// refreshing: the session waits for the app's fresh link (fxRefresh),
	// asked for because of refreshStatus (0: the link's query says it
	// expires, protocol.LinkExpiry). refreshes counts the links asked for
	// since an answer was last accepted. linkExpires is when the link in
	// use expires (zero: unknown), renewed is the expiry a fresh link was
	// already asked for ahead of.
	refreshing    bool
	refreshStatus int
	refreshes     int
	linkExpires   time.Time
	renewed       time.Time
	// link counts the fresh links in use (flight.link); vouched: the
	// link in use is a fresh one whose answers have not yet shown where
	// they come from (refreshed).
	link        int
	vouched     bool
	plainTrial  bool  // an If-Range request failed before its answer: try a plain Range (CORS)
	aimed       bool  // requests go to rec.FinalURL: the download's URL leads elsewhere now
	unsettled   bool  // established, record not written nor space checked yet (settle)
	settling    int   // settle's effects not answered yet
	noStore     bool  // the record could not be written, or the file does not fit: no piece is stored
	nextQuota   int64 // stored bytes at which a download of unknown length checks the quota again
	marked      bool  // the record says running
	stats       Stats
	began       time.Time
	hash        *hashProgress // the check of the current generation's bytes (session_hash.go), or nil
	hashSaved   int64         // rec.Hashed when the record was last written
	nextWorker  int           // the next hash worker's id
	hashLost    bool          // the hash could not read a piece: it starts again at hashHold (retryHash)
	hashHold    time.Time     // when a lost hash starts again
	hashAttempt int           // pieces the hash could not read in a row
	result      Result        // the finished download (phase join)
	joinStarted time.Time     // when the join began (Stats.Finish)
}

// A piece is bytes of a body: where they go and the blob that holds them.
// The last piece of a body of unknown length is written with the record
// that states the file's length (store.PutLast).
type piece struct {
	gen, pos int64
	blob     store.Blob
	last     bool
}

func (p piece) end() int64 { return p.pos + p.blob.Size() }

func newSession(cfg sessionConfig) *session {
	expires, _ := protocol.LinkExpiry(cfg.url)
	return &session{
		cfg:         cfg,
		linkExpires: expires,
		rnd:         rand.New(rand.NewPCG(cfg.seed, cfg.seed^0x9e3779b97f4a7c15)),
		flights:     map[int]*flight{},
		pending:     map[int64]int64{},
	}
}

// newGen returns a new generation id for stored bytes. Ids are random, not
// counted: two tabs that write the same download without a cross-tab lock
// (no Web Locks API) never write chunks under the same generation, so a
// tab joins only bytes it wrote itself. 2⁵² keeps them exact as JS numbers.
func (s *session) newGen() int64 { return s.rnd.Int64N(1 << 52) }

// ---- Events: what happened. The shell sends each one with its time.

type event interface{ isEvent() }

// evStart starts the session: it reads what is stored.
type evStart struct{}

// evLoaded: the record (found false: none) and the chunks were read.
type evLoaded struct {
	rec    store.Record
	found  bool
	chunks []store.Chunk
	err    error
}

// evAnswer: flight id got an answer, at at (the probe's before its early
// piece was read). url is where the request went, before redirects. early
// is the start of the probe's body, read before deciding.
type evAnswer struct {
	id    int
	at    time.Time
	resp  protocol.Response
	url   string
	early earlyPiece
}

// earlyPiece is the start of a body read before the session decided on
// it: the probe's (the flight keeps its blobs and hands them first).
type earlyPiece struct {
	size int64
	ok   bool          // the read ended without error (EOF included)
	took time.Duration // from the headers to the piece's end
}

// evPiece: flight id hands over the next bytes of its body; the flight
// then waits for fxMore.
type evPiece struct {
	id   int
	blob store.Blob
}

// evEnd: flight id is over. got counts the body bytes it handed over, took
// the time from its answer to its end.
type evEnd struct {
	id          int
	outcome     protocol.Outcome
	err         error
	got         int64
	took        time.Duration
	crossOrigin bool
	answer      any // the response, released unread (bodyPlan.hand)
}

// evCommitted: a write of fxWrite is done.
type evCommitted struct {
	p      piece
	last   bool  // written with the record (fxWrite.last)
	hashed int64 // that record's Hashed
	err    error
	took   time.Duration
}

// evStored: a record operation of the shell is done.
type evStored struct {
	op  storeOp
	err error
}

// evSpace: the free storage, as fxSpace asked.
type evSpace struct {
	why  spaceCheck
	free int64
	ok   bool // the platform could tell
	err  error
}

// evChunks: the chunks fxChunks asked for.
type evChunks struct {
	why    chunksFor
	chunks []store.Chunk
	err    error
}

// evJoined: the file joined from its chunks (fxJoin).
type evJoined struct {
	blob store.Blob
	err  error
}

// evHashed: hash worker w hashed up to upTo bytes; state and sum are the
// hash's after them; took is how long the step took (Stats.HashTime).
type evHashed struct {
	w     int
	upTo  int64
	state []byte
	sum   []byte
	took  time.Duration
	err   error
}

// evTimer: the time fxTimer asked for has come.
type evTimer struct{}

// evRefreshed: the app answered fxRefresh; with err nil, the shell points
// the next requests at the fresh link.
type evRefreshed struct {
	link    Link      // the shell's to apply
	url     string    // the link now in use ("" unchanged)
	expires time.Time // when it expires, zero if unknown
	err     error
}

// evStop: the user stopped the run (pause or cancel), with cause.
type evStop struct{ cause error }

func (evStart) isEvent()     {}
func (evLoaded) isEvent()    {}
func (evAnswer) isEvent()    {}
func (evPiece) isEvent()     {}
func (evEnd) isEvent()       {}
func (evCommitted) isEvent() {}
func (evStored) isEvent()    {}
func (evSpace) isEvent()     {}
func (evChunks) isEvent()    {}
func (evJoined) isEvent()    {}
func (evHashed) isEvent()    {}
func (evTimer) isEvent()     {}
func (evRefreshed) isEvent() {}
func (evStop) isEvent()      {}

// ---- Effects: what the shell does. Those marked "in order" are done
// before the shell takes the next event, and their results (if any) come
// back as events before any other.

type effect interface{ isEffect() }

// fxLoad reads the record and the chunks (→ evLoaded). In order.
type fxLoad struct{}

// storeOp names a record operation, for its evStored.
type storeOp int

const (
	opSave   storeOp = iota // any record write
	opSettle                // the record of a download just established
	opReset                 // a new generation
	opDone                  // the record of the finished download
)

// fxSave writes the record (→ evStored). In order.
type fxSave struct {
	rec store.Record
	op  storeOp
	// reset discards every stored chunk of the key as the record is
	// written, in one step (the first write of a download that supplants
	// another owner's; see session.supplant).
	reset bool
}

// fxReset removes every chunk and writes the record (→ evStored). In order.
type fxReset struct{ rec store.Record }

// fxDeleteChunk removes one chunk, best effort (no event). In order.
type fxDeleteChunk struct{ gen, start int64 }

// fxWrite stores a piece (→ evCommitted, in the background); with last,
// together with rec (store.PutLast).
type fxWrite struct {
	p    piece
	last bool
	rec  store.Record
}

// spaceCheck names why the free storage is asked.
type spaceCheck int

const (
	spaceSettle spaceCheck = iota // before the first byte of a known length
	spaceGrowth                   // every quotaStep of a file of unknown length
)

// fxSpace asks how much storage is free (→ evSpace). In order.
type fxSpace struct{ why spaceCheck }

// chunksFor names why the chunks are read again.
type chunksFor int

const (
	chunksRehash chunksFor = iota // to hash them again: from byte 0, or from where a hash that could not read a piece got
	chunksJoin                    // to join the finished file
)

// fxChunks reads the chunks (→ evChunks). In order.
type fxChunks struct{ why chunksFor }

// joinPart is bytes [from, to) of a stored blob.
type joinPart struct {
	blob     store.Blob
	from, to int64
}

// fxJoin makes one blob of parts, with the media type (→ evJoined). In
// order.
type fxJoin struct {
	parts       []joinPart
	contentType string
}

// fxSend starts flight id: a request for req, to the download's own URL
// (or to url, when aimed). eager reads the start of the body before the
// answer is handed over (the probe).
type fxSend struct {
	id    int
	req   protocol.Request
	url   string
	eager bool
}

// fxPlan tells flight id what to do with its body; it answers with
// evPiece or evEnd.
type fxPlan struct {
	id   int
	plan bodyPlan
}

// fxMore lets flight id hand over its next piece.
type fxMore struct{ id int }

// fxCancel stops flight id; it ends with evEnd (EndStopped).
type fxCancel struct{ id int }

// fxHashStart starts hash worker w for alg, from byte from with the saved
// state (none for 0); the worker first reports the sum of that state
// (evHashed with upTo from), then each job.
type fxHashStart struct {
	w     int
	alg   string
	from  int64
	state []byte
}

// fxHash hands bytes [from, to) of blob to worker w, which continue what
// it hashed.
type fxHash struct {
	w        int
	blob     store.Blob
	from, to int64
}

// fxHashStop ends worker w.
type fxHashStop struct{ w int }

// fxTimer asks for evTimer at at (zero: no timer).
type fxTimer struct{ at time.Time }

// fxRefresh asks the app for a fresh link to the file (Options.Refresh),
// because url answered status, or (status 0, url "": the link in use)
// because the link is about to expire (→ evRefreshed).
type fxRefresh struct {
	status int
	url    string
}

// fxRefreshCancel gives up the app's answer to fxRefresh (→ evRefreshed,
// with the context's error): the session is ending.
type fxRefreshCancel struct{}

// fxReport updates the download's progress.
type fxReport struct {
	force          bool
	stored, queued int64
	file           *fileFacts // what is known of the file, when it changed
	notice         string
	noticeCode     string
	retry          *retryFacts // a back-off began
	clearErr       bool        // progress after a failure: the error is over
}

// fileFacts is what the progress says of the file.
type fileFacts struct {
	total      int64
	validators protocol.Validators
	resumable  bool
	reason     protocol.Reason
	decided    protocol.Exchange
}

// retryFacts is what the progress says of a back-off.
type retryFacts struct {
	attempt int
	at      time.Time
	err     *Error
}

// fxDone ends the session with its result or its error.
type fxDone struct {
	res Result
	err error
}

func (fxLoad) isEffect()          {}
func (fxSave) isEffect()          {}
func (fxReset) isEffect()         {}
func (fxDeleteChunk) isEffect()   {}
func (fxWrite) isEffect()         {}
func (fxSpace) isEffect()         {}
func (fxChunks) isEffect()        {}
func (fxJoin) isEffect()          {}
func (fxSend) isEffect()          {}
func (fxPlan) isEffect()          {}
func (fxMore) isEffect()          {}
func (fxCancel) isEffect()        {}
func (fxHashStart) isEffect()     {}
func (fxHash) isEffect()          {}
func (fxHashStop) isEffect()      {}
func (fxTimer) isEffect()         {}
func (fxRefresh) isEffect()       {}
func (fxRefreshCancel) isEffect() {}
func (fxReport) isEffect()        {}
func (fxDone) isEffect()          {}

func (s *session) emit(e effect) { s.out = append(s.out, e) }

// step handles one event that happened at now and returns the effects.
func (s *session) step(now time.Time, ev event) []effect {
	s.now, s.out = now, nil
	if s.phase == phaseEnd {
		return nil
	}
	switch ev := ev.(type) {
	case evStart:
		s.began = now
		s.emit(fxLoad{})
		return s.out
	case evLoaded:
		s.loaded(ev)
	case evAnswer:
		s.answered(ev)
	case evPiece:
		s.gotPiece(ev)
	case evEnd:
		s.ended(ev)
	case evCommitted:
		s.committed(ev)
	case evStored:
		s.stored(ev)
	case evSpace:
		s.spaceChecked(ev)
	case evChunks:
		s.chunksRead(ev)
	case evJoined:
		s.joined(ev)
	case evHashed:
		s.hashed(ev)
	case evTimer:
		s.timerAt = time.Time{}
	case evRefreshed:
		s.refreshed(ev)
	case evStop:
		s.fail(ev.cause)
	}
	s.advance()
	return s.out
}

// fail ends the session with err (the first cause counts): whatever is in
// flight is stopped and what arrived is stored first (drain).
func (s *session) fail(err error) {
	if s.fatal == nil {
		s.fatal = err
	}
}

// advance moves the session on after an event: it plans requests while
// fetching, starts the drain when the session is over or complete, and
// leads each phase to the next once its work is done.
func (s *session) advance() {
	for {
		before := s.phase
		switch s.phase {
		case phaseFetch:
			s.fetch()
		case phaseDrain:
			s.drain()
		case phaseVerify:
			s.verify()
		}
		if s.phase == before {
			return
		}
	}
}

// ---- Load

// loaded takes what is stored, keeping only what can be trusted: a record
// that does not add up is discarded with its chunks, and chunks that do
// not belong (another generation, a damaged value, bytes past the end) are
// dropped so that their bytes are fetched again.
//
// Next: fetch (which finishes at once if every byte is stored).
func (s *session) loaded(ev evLoaded) {
	if s.phase != phaseLoad {
		return
	}
	s.phase = phaseFetch
	if ev.err != nil {
		s.fail(storageError("read the stored download", ev.err))
		return
	}
	if !ev.found {
		// A new download. Its record is written when the first answer
		// establishes it; chunks without a record (a crash between two
		// writes of an older version) are removed first.
		s.rec = s.newRecord()
		if len(ev.chunks) > 0 {
			s.reset()
		}
		return
	}
	rec := ev.rec
	if !sameOwner(rec.Owner, s.cfg.owner) {
		// Stored with other credentials (or none, or with some where
		// there are none now): another user's file, which this one may
		// not be allowed to read. Nothing of it is joined or answered.
		// Its bytes go only with this download's first record write: a
		// caller the server refuses takes nothing from the owner.
		s.rec = s.newRecord()
		s.supplant = true
		s.report(fxReport{force: true, notice: "the stored download was made with other credentials; starting over", noticeCode: NoticeOtherCredentials})
		return
	}
	if err := rec.Check(); errors.Is(err, store.ErrHashState) {
		// The bytes are sound; only the check of them starts over.
		rec = rec.WithoutHash()
		s.notice("the stored state of the integrity check could not be taken up (" + err.Error() + "); checking the stored bytes again")
	} else if err != nil {
		s.rec = s.newRecord()
		s.reset()
		s.notice("discarded the stored download, which could not be trusted (" + err.Error() + "); starting over")
		return
	}
	s.rec = rec
	s.rec.Source = protocol.Bounded(s.cfg.url)
	dropped := 0
	for _, c := range ev.chunks {
		if c.Gen == rec.Gen && rec.Established() && c.Data != nil && c.Data.Size() > 0 && c.Start >= 0 &&
			(rec.Total == protocol.UnknownSize || c.End() <= rec.Total) {
			s.ext.Add(c.Start, c.End())
			continue
		}
		// A chunk of an older generation, or one that cannot belong to
		// this one: never join it.
		s.emit(fxDeleteChunk{c.Gen, c.Start})
		if c.Gen == rec.Gen {
			dropped++
		}
	}
	if dropped > 0 {
		s.notice("dropped " + strconv.Itoa(dropped) + " stored chunks that did not add up; fetching their bytes again")
	}
	s.highWater = s.ext.Len()
	if rec.Received > s.ext.Len() && rec.Mode.Ranged() {
		// The record counted more than the chunks hold: the browser
		// removed stored bytes (an eviction under storage pressure).
		s.report(fxReport{force: true, notice: fmt.Sprintf("the browser removed %d stored bytes (evicted); fetching them again", rec.Received-s.ext.Len()),
			noticeCode: NoticeEvicted})
	}
	s.loadHash(ev.chunks)
	if rec.Mode == protocol.ModeSingle && s.ext.Len() > 0 && !s.complete() {
		// Bytes of an interrupted download that is not resumable: nothing
		// can prove later bytes belong with them.
		s.newGeneration(false, nil)
	}
}

func (s *session) newRecord() store.Record {
	now := s.now.UnixMilli()
	return store.Record{
		URL: s.cfg.key, Schema: store.SchemaVersion, Gen: s.newGen(), Mode: protocol.ModeNew, Total: protocol.UnknownSize,
		ChunkSize: s.cfg.opts.ChunkSize, State: protocol.Idle, Created: now, Updated: now, Source: protocol.Bounded(s.cfg.url),
		Owner: s.cfg.owner,
	}
}

// ---- Fetch

// fetch is the planning of the fetch phase: it ends the phase when the
// session failed or every byte is stored, and otherwise sends the requests
// the mode's plan asks for (at most its connections at once, none while
// backing off), writes the record of a download just established, and
// asks for a wake-up when it must.
//
// Next: drain (then end) on a failure or a stop; drain (then verify) once
// every byte of the file is stored.
func (s *session) fetch() {
	switch {
	case s.fatal != nil:
		s.startDrain(false)
		return
	case s.complete():
		s.startDrain(true)
		return
	}
	s.retryHash() // requests go on meanwhile: only the hash backs off
	if s.expiring() {
		// Ahead of the link's stated expiry: a fresh one first, rather
		// than requests that may be refused.
		s.renewed = s.linkExpires
		s.refresh(0, "")
	}
	conns := s.conns()
	// A link refused, or past its stated expiry, waits for the fresh one;
	// one about to expire goes on meanwhile.
	waitLink := s.refreshing && (s.refreshStatus != 0 || !s.now.Before(s.linkExpires))
	if !s.holdUntil.After(s.now) && !waitLink {
		for s.onWire(conns) < conns {
			req, ok := s.plan()
			if !ok {
				break
			}
			s.send(req)
		}
		if !s.marked && s.rec.Established() && !s.unsettled {
			// A hint for listings (an interrupted download shows as
			// such); the requests are already out.
			s.marked = true
			s.rec.State = protocol.Running
			s.save(opSave)
		}
	}
	s.settle()
	wake := s.holdUntil
	if !wake.After(s.now) && conns == 1 {
		wake = s.pace.nextAhead(s.current(), s.now)
	}
	if !wake.After(s.now) {
		wake = time.Time{}
	}
	if s.hashLost && s.hashHold.After(s.now) && (wake.IsZero() || s.hashHold.Before(wake)) {
		wake = s.hashHold
	}
	if wake != s.timerAt {
		s.timerAt = wake
		s.emit(fxTimer{wake})
	}
	if len(s.flights) == 0 && s.writes == 0 && s.settling == 0 && wake.IsZero() && !s.refreshing {
		// Nothing in flight and nothing to send: a plan that has no
		// request must have ended above.
		s.fail(newError(CodeInternal, fmt.Errorf("%s: nothing to do and not finished (stored %d of %d)", s.rec.Mode, s.ext.Len(), s.rec.Total)))
		s.startDrain(false)
	}
}

// conns is how many requests the mode sends at once.
func (s *session) conns() int {
	if s.rec.Mode.Ranged() {
		return s.cfg.opts.Connections
	}
	return 1
}

// plan returns the next request of the mode, if one is due:
//   - new: the probe, protocol.ProbeRequest: its answer establishes the
//     download (validators, length, final URL, media type) and says how
//     the rest is fetched;
//   - ranged: the missing bytes in bounded ranges, the cells of a fixed
//     grid of Options.ChunkSize (protocol.NextSpan), every 206 checked
//     against the stored validators and length; a short answer leaves
//     the rest of its cell to the next request;
//   - single: the whole file in one request without Range, from byte 0;
//     after an interruption its bytes are discarded and it starts over.
func (s *session) plan() (protocol.Request, bool) {
	switch s.rec.Mode {
	case protocol.ModeRanged, protocol.ModeRangedPlain:
		if !s.pace.measured && s.onWire(1) > 0 {
			// One request at a time until one body measured the link:
			// the others are read as it says.
			return protocol.Request{}, false
		}
		sp, ok := protocol.NextSpan(&s.ext, s.busy(), s.rec.Total, s.cfg.opts.ChunkSize)
		if !ok {
			return protocol.Request{}, false
		}
		req := protocol.Request{Start: sp.Start, End: sp.End}
		if s.rec.Mode == protocol.ModeRanged && !s.plainTrial {
			req.IfRange, _ = s.rec.Validators.IfRange()
		}
		return req, true
	case protocol.ModeSingle:
		idle := len(s.current()) == 0 && len(s.pending) == 0 && len(s.queue) == 0 && s.ext.Len() == 0
		return protocol.Request{Whole: true, End: protocol.UnknownSize}, idle
	default:
		return protocol.ProbeRequest(), len(s.current()) == 0
	}
}

// send starts a flight for req.
func (s *session) send(req protocol.Request) {
	if s.stats.Requests == 0 {
		s.stats.Setup = s.now.Sub(s.began)
	}
	s.stats.Requests++
	s.nextID++
	f := &flight{id: s.nextID, req: req, gen: s.rec.Gen, link: s.link, pos: req.Start, end: req.End, sent: s.now}
	if req.Whole {
		f.pos, f.end = 0, protocol.UnknownSize
	}
	if s.aimed {
		f.req.Aimed, f.req.URL = true, s.rec.FinalURL
	}
	f.whole, f.eager = s.pace.takeWhole(req, s.cfg.opts)
	s.flights[f.id] = f
	url := ""
	if f.req.Aimed {
		url = f.req.URL
	}
	s.emit(fxSend{id: f.id, req: f.req, url: url, eager: f.eager})
}

// startDrain stops every flight and lets what they received be stored;
// finishing says whether the verify phase follows, else the end with
// s.fatal.
func (s *session) startDrain(finishing bool) {
	s.phase, s.finishing = phaseDrain, finishing
	s.settle()
	if s.refreshing {
		s.emit(fxRefreshCancel{})
	}
	for _, f := range s.flights {
		if !f.canceled {
			f.canceled = true
			s.emit(fxCancel{f.id})
		}
	}
	if s.timerAt != (time.Time{}) {
		s.timerAt = time.Time{}
		s.emit(fxTimer{})
	}
}

// drain waits for every flight to end and every write to commit.
//
// Next: verify when finishing and nothing failed; else the end.
func (s *session) drain() {
	if len(s.flights) > 0 || s.writes > 0 || s.settling > 0 || s.refreshing {
		return
	}
	if s.fatal != nil || !s.finishing {
		s.keepHash()
		s.end(Result{}, s.fatal)
		return
	}
	s.phase = phaseVerify
}

// keepHash writes down, as a session stops (a pause, a failure that keeps
// the stored bytes), how far the integrity check got since the record was
// last written (up to hashSaveStep bytes), so that the next session goes
// on from there instead of reading those stored bytes again to hash them.
// The hash only ever covers committed bytes, so the record cannot claim
// more than is stored. The write is carried out before the session ends.
func (s *session) keepHash() {
	if s.rec.Hashed > s.hashSaved && s.rec.Established() && !s.supplant {
		s.save(opSave)
	}
}

// end finishes the session.
func (s *session) end(res Result, err error) {
	if s.hash != nil {
		s.stopHash()
	}
	if err == nil && res.Blob == nil {
		err = newError(CodeInternal, errors.New("the session ended without a result"))
	}
	var e *Error
	if s.answer != nil && errors.As(err, &e) {
		e.Answer = s.answer
	}
	s.phase = phaseEnd
	s.emit(fxDone{res: res, err: err})
}

// ---- Verify and join

// verify waits until every byte of the file is hashed, and compares the
// hash with the digest (session_hash.go: checkHash). A file that does not
// match is discarded.
//
// Next: join when it matches (or nothing is checked); the end otherwise.
func (s *session) verify() {
	if s.fatal != nil {
		// Stopped (a pause) while the last bytes were hashed: what is
		// stored stays, and the next session checks it, from as far as
		// this one got.
		s.keepHash()
		s.end(Result{}, s.fatal)
		return
	}
	if s.retryHash() {
		// Backing off before the hash reads the stored bytes again: the
		// drain stopped the timer.
		if s.timerAt != s.hashHold {
			s.timerAt = s.hashHold
			s.emit(fxTimer{s.hashHold})
		}
		return
	}
	switch ok, done := s.checkHash(); {
	case !done:
		return
	case !ok:
		s.end(Result{}, s.fatal)
		return
	}
	s.phase = phaseJoin
	s.joinStarted = s.now
	s.emit(fxChunks{chunksJoin})
}

// joinFrom joins the finished file from its chunks.
func (s *session) joinFrom(chunks []store.Chunk) {
	parts, err := joinable(chunks, s.rec.Gen, s.rec.Total)
	if err != nil {
		s.end(Result{}, newError(CodeStorage, err))
		return
	}
	s.emit(fxJoin{parts: parts, contentType: s.rec.ContentType})
}

// joined records the download as done.
func (s *session) joined(ev evJoined) {
	switch {
	case ev.err != nil:
		s.end(Result{}, newError(CodeStorage, fmt.Errorf("join the stored chunks: %w", ev.err)))
		return
	case ev.blob.Size() != s.rec.Total:
		s.end(Result{}, newError(CodeStorage, fmt.Errorf("joined %d bytes, want %d", ev.blob.Size(), s.rec.Total)))
		return
	}
	s.rec.State = protocol.Done
	s.result = Result{
		URL: s.cfg.url, Key: s.cfg.key, Blob: ev.blob, Size: ev.blob.Size(), ContentType: s.rec.ContentType,
		Validators: s.rec.Validators, Resumable: s.rec.Resumable(), Reason: s.rec.Reason, Restarts: s.rec.Restarts,
		Verified: s.hash != nil,
	}
	s.save(opDone)
}

// joinable returns the parts that make up bytes [0, total) of generation
// gen, trimming overlaps, or an error if a byte is missing.
func joinable(chunks []store.Chunk, gen, total int64) ([]joinPart, error) {
	var parts []joinPart
	var at int64
	for _, c := range chunks {
		if c.Gen != gen || c.Data == nil || c.End() <= at {
			continue // another generation's, or damaged since it was loaded
		}
		if c.Start > at {
			break
		}
		end := min(c.End(), total)
		parts = append(parts, joinPart{blob: c.Data, from: at - c.Start, to: end - c.Start})
		at = end
		if at == total {
			break
		}
	}
	if at != total {
		return nil, fmt.Errorf("stored bytes end at %d of %d", at, total)
	}
	return parts, nil
}

// ---- Store results

func (s *session) stored(ev evStored) {
	switch ev.op {
	case opSettle:
		s.settling--
		if ev.err != nil {
			s.noStore = true // no piece without its record
			s.fail(storageError("write record", ev.err))
		}
		s.flushQueue()
	case opReset:
		if ev.err != nil {
			s.fail(storageError("discard stored bytes", ev.err))
		}
	case opDone:
		if ev.err != nil {
			s.end(Result{}, storageError("write record", ev.err))
			return
		}
		s.report(s.progress(true))
		s.result.Stats = s.stats
		s.result.Stats.Finish = s.now.Sub(s.joinStarted)
		s.end(s.result, nil)
	case opSave:
		if ev.err != nil {
			s.fail(storageError("write record", ev.err))
		}
	}
}

func (s *session) chunksRead(ev evChunks) {
	if ev.err != nil {
		s.fail(storageError("read chunks", ev.err))
		if s.phase == phaseJoin || s.phase == phaseVerify {
			s.end(Result{}, s.fatal)
		}
		return
	}
	switch ev.why {
	case chunksJoin:
		if s.phase == phaseJoin {
			s.joinFrom(ev.chunks)
		}
	case chunksRehash:
		s.offerChunks(ev.chunks)
	}
}

// ---- Record keeping

// save writes the record, as op.
func (s *session) save(op storeOp) {
	s.rec.Received = s.ext.Len()
	s.rec.Updated = s.now.UnixMilli()
	s.rec.ErrCode, s.rec.ErrMessage = "", ""
	if s.rec.Created == 0 {
		s.rec.Created = s.rec.Updated
	}
	s.hashSaved = s.rec.Hashed
	s.emit(fxSave{rec: s.rec, op: op, reset: s.supplant})
	s.supplant = false
}

// reset discards every stored chunk and writes the record.
func (s *session) reset() {
	s.rec.Received = 0
	s.rec.Updated = s.now.UnixMilli()
	s.emit(fxReset{rec: s.rec})
	s.supplant = false
}

// settle writes the record of a download just established and checks that
// it fits in the storage left: a download that cannot fit fails before any
// of its bytes is stored. Pieces wait in the queue until both are done.
func (s *session) settle() {
	if !s.unsettled {
		return
	}
	s.unsettled = false
	s.settling++
	s.save(opSettle)
	if s.cfg.estimates && s.rec.Total != protocol.UnknownSize {
		s.settling++
		s.emit(fxSpace{spaceSettle})
	}
}

// spaceChecked fails, at once, a download whose known length does not fit
// in the storage left, rather than filling the storage to fail at 90 %;
// and, every quotaStep of a download of unknown length, one whose body
// would run past what is left: a body that never ends must pause the
// download before the browser refuses a write.
func (s *session) spaceChecked(ev evSpace) {
	switch ev.why {
	case spaceSettle:
		s.settling--
		if ev.err == nil && ev.ok {
			if need := s.rec.Total - s.ext.Len(); need > ev.free {
				s.noStore = true
				s.fail(newError(CodeQuota, &QuotaError{Need: need, Free: ev.free}))
			}
		}
		s.flushQueue()
	case spaceGrowth:
		if ev.err == nil && ev.ok && ev.free < quotaStep {
			s.fail(newError(CodeQuota, fmt.Errorf("at %d bytes of a file of unknown length, only %d bytes of storage are left: %w",
				s.ext.Len(), ev.free, store.ErrQuota)))
		}
	}
}

// ---- Progress

func (s *session) report(r fxReport) {
	r.stored, r.queued = s.ext.Len(), s.queuedBytes()
	s.emit(r)
}

// notice reports something the session did on its own.
func (s *session) notice(text string) {
	s.report(fxReport{force: true, notice: text})
}

// progress is the report of the byte counts and of what is known of the
// file.
func (s *session) progress(force bool) fxReport {
	r := fxReport{force: force, file: &fileFacts{
		total: s.rec.Total, validators: s.rec.Validators, resumable: s.rec.Resumable(), reason: s.rec.Reason, decided: s.rec.Decided,
	}}
	r.clearErr = s.ext.Len() > 0 && s.attempt == 0
	return r
}

// queuedBytes counts the bytes received but not stored: pieces on their
// way to storage, and those a flight holds until its body's end.
func (s *session) queuedBytes() int64 {
	var n int64
	for _, f := range s.current() {
		for _, h := range f.held {
			n += h.blob.Size()
		}
	}
	for st, e := range s.pending {
		n += e - st
	}
	for _, p := range s.queue {
		n += p.blob.Size()
	}
	return n
}

// complete reports whether every byte of a known total is stored, and no
// flight of this generation is still reading: its body could still turn
// out broken, and take its pieces back.
func (s *session) complete() bool {
	return s.rec.Established() && s.rec.Total != protocol.UnknownSize && s.ext.Contains(0, s.rec.Total) &&
		len(s.current()) == 0
}

// current returns the flights of the current generation.
func (s *session) current() []*flight {
	var out []*flight
	for _, f := range s.flights {
		if f.gen == s.rec.Gen {
			out = append(out, f)
		}
	}
	return out
}

// busy returns the spans of the current generation that are being fetched
// or stored: planning must not ask for them again.
func (s *session) busy() []protocol.Span {
	var out []protocol.Span
	for _, f := range s.current() {
		if f.pos < f.end || f.end == protocol.UnknownSize {
			out = append(out, protocol.Span{Start: f.pos, End: f.end})
		}
		for _, h := range f.held {
			out = append(out, protocol.Span{Start: h.pos, End: h.end()})
		}
	}
	for st, e := range s.pending {
		out = append(out, protocol.Span{Start: st, End: e})
	}
	for _, p := range s.queue {
		out = append(out, protocol.Span{Start: p.pos, End: p.end()})
	}
	return out
}
