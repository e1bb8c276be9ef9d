package trace

import "net/netip"

// Mark is what a timeline draws of one entry line (KindARP, KindState,
// KindTouch, KindProbe, KindConfirm) or of one frame a host sent
// (KindSend), without its words: fixed-size fields, so that a producer
// can hand a streaming report every line of a long capture without
// building an Event (strings, an explanation) for each. The fields mean
// what the Event fields of the same name mean; MACs are bytes with a flag
// saying whether they are set.
type Mark struct {
	Kind Kind
	Time float64
	Host string
	IP   netip.Addr
	// Effect is the KindARP frame's effect (FrameEffect).
	Effect          Effect
	State, OldState string
	LLAddr          [6]byte
	HasLL           bool
	OldLLAddr       [6]byte
	HasOldLL        bool
	// LockUntil is the end of the locktime window the line opened (the
	// Event's LocktimeUntil); 0 when it opened none.
	LockUntil float64
	// SHA is a sent frame's sender MAC (KindSend).
	SHA    [6]byte
	HasSHA bool
}

// Marker is a Sink that can take Marks. A producer that finds its sink is
// a Marker sends a Mark for every line it would emit, and the Event itself
// only when Mark returns true (the sink wants its words); the Event then
// follows at once and the Marker does not draw it a second time. Events
// sent without a Mark (headers, notes, verdicts) are taken as a Sink takes
// them.
type Marker interface {
	Sink
	Mark(m *Mark) (words bool)
}
