package protocol

import "errors"

// State is where a download is in its life.
//
//	idle ──start──▶ running ──finish──▶ done
//	 │               │  ▲  └──fail────▶ failed ──resume──▶ running
//	 │         pause │  │ resume
//	 │               ▼  │
//	 └──wait──▶ locked-elsewhere ◀──wait── paused
//	            (another tab writes it; start when it lets go)
//
// queue leads from idle, paused, failed, locked-elsewhere and running (a run
// that was stopped and taken back) to queued: the download may run but
// waits for one of the manager's slots (a limit on downloads at once);
// start leads on to running, pause back to paused.
//
// cancel leads from every state to canceled, which is not stored.
type State string

// The states of a download. They are part of the public API.
const (
	Idle     State = "idle"
	Running  State = "running"
	Paused   State = "paused"
	Done     State = "done"
	Failed   State = "failed"
	Canceled State = "canceled"
	// LockedElsewhere: another tab is writing this download; this one
	// waits for it to finish or close.
	LockedElsewhere State = "locked-elsewhere"
	// Queued: the download waits for a slot, behind as many running
	// downloads as the manager allows at once.
	Queued State = "queued"
)

// Event is something that moves a download from one state to another.
type Event string

// The events of the state machine.
const (
	EvStart  Event = "start"
	EvPause  Event = "pause"
	EvResume Event = "resume"
	EvFinish Event = "finish"
	EvFail   Event = "fail"
	EvCancel Event = "cancel"
	EvWait   Event = "wait"
	EvQueue  Event = "queue"
)

// ErrTransition reports an event that does not apply in the current state.
var ErrTransition = errors.New("invalid state transition")

// transitions lists every allowed (state, event) pair and where it leads.
var transitions = map[State]map[Event]State{
	Idle:            {EvStart: Running, EvPause: Paused, EvWait: LockedElsewhere, EvQueue: Queued, EvCancel: Canceled, EvFail: Failed},
	Running:         {EvPause: Paused, EvFinish: Done, EvFail: Failed, EvQueue: Queued, EvCancel: Canceled},
	Paused:          {EvResume: Running, EvWait: LockedElsewhere, EvQueue: Queued, EvCancel: Canceled, EvFail: Failed},
	LockedElsewhere: {EvStart: Running, EvPause: Paused, EvQueue: Queued, EvCancel: Canceled, EvFail: Failed},
	Queued:          {EvStart: Running, EvPause: Paused, EvCancel: Canceled, EvFail: Failed},
	Failed:          {EvResume: Running, EvQueue: Queued, EvCancel: Canceled},
	Done:            {EvCancel: Canceled},
}

// Next returns the state that ev leads to from s, or ErrTransition.
func (s State) Next(ev Event) (State, error) {
	if to, ok := transitions[s][ev]; ok {
		return to, nil
	}
	return s, &TransitionError{From: s, Event: ev}
}

// Terminal reports whether no event leads out of s except cancel.
func (s State) Terminal() bool { return s == Done || s == Canceled }

// Valid reports whether s is one of the known states.
func (s State) Valid() bool {
	_, ok := transitions[s]
	return ok || s == Canceled
}

// TransitionError is the error of an event that does not apply.
type TransitionError struct {
	From  State
	Event Event
}

func (e *TransitionError) Error() string {
	return "cannot " + string(e.Event) + " a download that is " + string(e.From)
}

// Is makes errors.Is(err, ErrTransition) true.
func (e *TransitionError) Is(target error) bool { return target == ErrTransition }
