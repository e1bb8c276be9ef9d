// Package trace is the one vocabulary every arplab producer writes and every
// renderer reads: the simulator, the real-kernel lab, capture replay and the
// live watcher all emit Events, and the text, JSON and HTML reports consume
// them. Keeping it a separate package that depends on nothing but the wire
// codecs (ARPFields and NDFields turn a decoded frame into its fields, once
// for every producer) lets a saved trace be rendered later without the
// code that produced it (docs/trace.md).
//
// A trace is a sequence of Events in time order, serialised as JSON lines.
// The first line is a KindHeader event describing the run.
//
// Sections cited as §n are those of the behavioural reference,
// ../shared/spec/linux-neighbour.md (beside the repository).
package trace

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
)

// Kind says what an Event records.
type Kind string

// Event kinds. The set is closed: decoders reject unknown kinds so a renderer
// never silently drops what it does not understand.
const (
	// KindHeader opens a trace: source, scenario, seed, profile, hosts.
	KindHeader Kind = "header"
	// KindARP is an ARP frame received by an observed host, with the
	// model's (or kernel's) verdict on it.
	KindARP Kind = "arp"
	// KindND is an IPv6 neighbour-discovery message (NS, NA, …)
	// received by an observed host, with the verdict on it, like KindARP.
	KindND Kind = "nd"
	// KindState is a change of a neighbour entry's state or lladdr.
	KindState Kind = "state"
	// KindTouch records a timestamp change with no state change
	// (an `updated` bump that moves the locktime window, a confirmation).
	KindTouch Kind = "touch"
	// KindProbe is an ARP solicitation sent by an observed host.
	KindProbe Kind = "probe"
	// KindConfirm is an upper-layer reachability confirmation.
	KindConfirm Kind = "confirm"
	// KindSend is a GARP or other frame sent by a simulated sender.
	KindSend Kind = "send"
	// KindFlow is an upper-layer flow event (connect, lost segment, success, failure).
	KindFlow Kind = "flow"
	// KindMove is a floating IP moving to a new MAC.
	KindMove Kind = "move"
	// KindCheck is a scenario check and its outcome.
	KindCheck Kind = "check"
	// KindVerdict closes a run: what failed, for how long, and why.
	KindVerdict Kind = "verdict"
	// KindNote is anything else worth a line (a skipped frame, a resync).
	KindNote Kind = "note"
)

var kinds = map[Kind]bool{
	KindHeader: true, KindARP: true, KindND: true, KindState: true, KindTouch: true, KindProbe: true,
	KindConfirm: true, KindSend: true, KindFlow: true, KindMove: true, KindCheck: true,
	KindVerdict: true, KindNote: true,
}

// Valid reports whether k is one of the defined kinds.
func (k Kind) Valid() bool { return kinds[k] }

// Verdicts on a received ARP frame (KindARP).
const (
	Honoured = "honoured" // the entry took the frame's lladdr or state
	Ignored  = "ignored"  // the entry exists and kept its lladdr and state
	Created  = "created"  // the frame created an entry
	Dropped  = "dropped"  // the frame never reached the table update (validation, drop_gratuitous_arp, no entry)
)

// ARPFrame is the decoded content of an ARP frame in a trace.
type ARPFrame struct {
	Op      string `json:"op"` // "request" or "reply"
	SHA     string `json:"sha"`
	SIP     string `json:"sip"`
	THA     string `json:"tha"`
	TIP     string `json:"tip"`
	EthDst  string `json:"eth_dst,omitempty"`
	PktType string `json:"pkt_type,omitempty"` // host, broadcast, multicast, otherhost
	GARP    bool   `json:"garp,omitempty"`     // sip == tip
}

// NDFrame is the decoded content of an IPv6 neighbour-discovery message
// in a trace (KindND, and KindSend for a simulated NA sender).
type NDFrame struct {
	Type      string `json:"type"` // "NS", "NA", "RS", "RA", "redirect"
	Src       string `json:"src"`
	Dst       string `json:"dst"`
	Target    string `json:"target,omitempty"`
	Router    bool   `json:"router,omitempty"`
	Solicited bool   `json:"solicited,omitempty"`
	Override  bool   `json:"override,omitempty"`
	// LLAddr is the link-layer option: the TLLAO of an NA or Redirect, else
	// the SLLAO (NS, RS, RA).
	LLAddr   string `json:"lladdr,omitempty"`
	HopLimit int    `json:"hop_limit,omitempty"`
	EthDst   string `json:"eth_dst,omitempty"`
	PktType  string `json:"pkt_type,omitempty"`
}

// Event is one line of a trace. Fields that do not apply are omitted.
type Event struct {
	// Time is seconds since the run's epoch (for replay: the capture's clock).
	Time float64 `json:"time"`
	Kind Kind    `json:"kind"`
	// Source is who observed it: "sim", "lab", "kernel", "replay", "watch".
	Source string `json:"source,omitempty"`
	Host   string `json:"host,omitempty"`
	Dev    string `json:"dev,omitempty"`
	IP     string `json:"ip,omitempty"`
	// LLAddr and State are the entry after the event, spelled as `ip neigh`
	// prints them (REACHABLE, STALE, …).
	LLAddr    string `json:"lladdr,omitempty"`
	State     string `json:"state,omitempty"`
	OldLLAddr string `json:"old_lladdr,omitempty"`
	OldState  string `json:"old_state,omitempty"`
	// Cause is a short machine word for what drove the event
	// ("garp-request", "timer", "output", "probe-reply", "confirm", …).
	Cause string `json:"cause,omitempty"`
	// Rule names the spec section that decided it ("§4.4(a)", "§2.2").
	Rule string `json:"rule,omitempty"`
	// Verdict on a received ARP frame: honoured, ignored, created, dropped.
	Verdict string `json:"verdict,omitempty"`
	// Explanation is the sentence users read, with the numbers compared.
	Explanation string `json:"explanation,omitempty"`
	// Frame is the 1-based index of the frame in a capture (replay) or in
	// the run's frame log (sim, lab).
	Frame int       `json:"frame,omitempty"`
	ARP   *ARPFrame `json:"arp,omitempty"`
	// ND is the received (KindND) or sent (KindSend) ND message.
	ND *NDFrame `json:"nd,omitempty"`
	// Jiffies is the host's tick counter at the event; Updated and
	// Confirmed are the entry's stamps after it (ticks).
	Jiffies   *uint64 `json:"jiffies,omitempty"`
	Updated   *uint64 `json:"updated,omitempty"`
	Confirmed *uint64 `json:"confirmed,omitempty"`
	// LocktimeUntil is when the locktime window opened by this event ends
	// (seconds), set whenever `updated` moved.
	LocktimeUntil *float64 `json:"locktime_until,omitempty"`
	// Flow names the upper-layer flow (confirm, flow, probe events).
	Flow string `json:"flow,omitempty"`
	// OK is the outcome of a check or a flow.
	OK *bool `json:"ok,omitempty"`
	// Attrs carries kind-specific extras (header: scenario, seed, profile;
	// verdict: failed flows, stale seconds). Keys are sorted on output.
	Attrs map[string]string `json:"attrs,omitempty"`
}

// Validate checks the fields every consumer relies on.
func (e *Event) Validate() error {
	if !e.Kind.Valid() {
		return fmt.Errorf("unknown kind %q", e.Kind)
	}
	switch e.Verdict {
	case "", Honoured, Ignored, Created, Dropped:
	default:
		return fmt.Errorf("unknown verdict %q", e.Verdict)
	}
	if e.Kind == KindARP && e.Verdict == "" {
		return fmt.Errorf("arp event without a verdict")
	}
	return nil
}

// Sink receives events as they are produced.
type Sink interface {
	Emit(Event)
}

// Recorder is a Sink that keeps every event in memory.
type Recorder struct{ Events []Event }

// Emit appends e.
func (r *Recorder) Emit(e Event) { r.Events = append(r.Events, e) }

// Discard is a Sink that drops everything (Monte Carlo inner runs).
type Discard struct{}

// Emit does nothing.
func (Discard) Emit(Event) {}

// Encoder writes events as JSON lines.
type Encoder struct {
	w   io.Writer
	buf []byte
}

// NewEncoder returns an encoder writing to w.
func NewEncoder(w io.Writer) *Encoder { return &Encoder{w: w} }

// Encode writes one event as one line (Event.AppendJSON: attrs sorted, so
// equal events give equal bytes).
func (e *Encoder) Encode(ev Event) error {
	e.buf = append(ev.AppendJSON(e.buf[:0]), '\n')
	_, err := e.w.Write(e.buf)
	return err
}

// WriteAll encodes every event.
func WriteAll(w io.Writer, evs []Event) error {
	enc := NewEncoder(w)
	for _, ev := range evs {
		if err := enc.Encode(ev); err != nil {
			return err
		}
	}
	return nil
}

// Output line kinds: the lines of an arplab --json output that are not
// trace events. Every such line carries one of these in its "kind" field,
// so a reader tells them from events by kind alone (docs/trace.md,
// "Output lines").
const (
	// OutputSummary closes `run --json` (summary and fixes) and
	// `replay --json` (summary).
	OutputSummary Kind = "summary"
	// OutputMonteCarlo is the one line of `run --runs N --json`.
	OutputMonteCarlo Kind = "montecarlo"
	// OutputMatrixRow is one configuration of `matrix --json`.
	OutputMatrixRow Kind = "matrix_row"
	// OutputVerifyResult is one scenario of `verify --json`.
	OutputVerifyResult Kind = "verify_result"
	// OutputDoctor is the one document of `doctor --json` (report and
	// advice); OutputAdvise the one document of `advise --json`.
	OutputDoctor Kind = "doctor"
	OutputAdvise Kind = "advise"
	// OutputProfiles is `profiles --json` (the catalog), OutputProfile
	// `profiles NAME --json`, OutputProfileComparison `profiles A B --json`.
	OutputProfiles          Kind = "profiles"
	OutputProfile           Kind = "profile"
	OutputProfileComparison Kind = "profile_comparison"
)

var outputKinds = map[Kind]bool{OutputSummary: true, OutputMonteCarlo: true, OutputMatrixRow: true, OutputVerifyResult: true,
	OutputDoctor: true, OutputAdvise: true, OutputProfiles: true, OutputProfile: true, OutputProfileComparison: true}

// IsOutputKind reports whether k names an output line or document that is
// not a trace event.
func IsOutputKind(k Kind) bool { return outputKinds[k] }

// OutputLine is a non-event line of an arplab --json output.
type OutputLine struct {
	Kind Kind
	Line int // 1-based line number in the input
	Raw  json.RawMessage
}

// Read decodes a JSON-lines trace, skipping the output lines (summaries,
// matrix rows) that arplab's --json outputs add. name is used in errors,
// which give the line number and what is wrong with it.
func Read(r io.Reader, name string) ([]Event, error) {
	evs, _, err := ReadOutput(r, name)
	return evs, err
}

// ReadOutput decodes any arplab --json output: the trace events, and
// apart from them the output lines, told apart by their kind. A line that
// is neither (an unknown kind, an unknown field in an event) is an error
// naming the line.
func ReadOutput(r io.Reader, name string) ([]Event, []OutputLine, error) {
	var out []Event
	var other []OutputLine
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var ev Event
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		err := dec.Decode(&ev)
		if err != nil {
			err = fmt.Errorf("not a trace event: %s", jsonWords(err))
		} else {
			err = ev.Validate()
		}
		if err != nil {
			// an output line fails as an event; only then is its kind
			// worth a second look
			var k struct {
				Kind Kind `json:"kind"`
			}
			if json.Unmarshal(b, &k) == nil && outputKinds[k.Kind] {
				other = append(other, OutputLine{Kind: k.Kind, Line: line, Raw: json.RawMessage(bytes.Clone(b))})
				continue
			}
			return nil, nil, fmt.Errorf("%s:%d: %v", name, line, err)
		}
		out = append(out, ev)
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("%s:%d: %v", name, line+1, err)
	}
	return out, other, nil
}

// U64 returns a pointer to v, for the optional tick fields.
func U64(v uint64) *uint64 { return &v }

// F64 returns a pointer to v.
func F64(v float64) *float64 { return &v }

// Bool returns a pointer to v.
func Bool(v bool) *bool { return &v }

// jsonWords says what encoding/json found wrong with a line in the words
// of the file, not of Go's decoder (no Go types, no "json:").
func jsonWords(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("not JSON (at column %d)", syn.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "not JSON (the line ends before the object does)"
	case errors.As(err, &typ):
		want := "another kind of value"
		switch typ.Type.Kind() {
		case reflect.String:
			want = "text"
		case reflect.Bool:
			want = "true or false"
		case reflect.Slice, reflect.Array:
			want = "a list"
		case reflect.Map, reflect.Struct:
			want = "an object"
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			want = "a whole number"
		case reflect.Float32, reflect.Float64:
			want = "a number"
		}
		return fmt.Sprintf("field %q: a %s is not %s", typ.Field, typ.Value, want)
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}
