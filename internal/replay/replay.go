package replay

import (
	"bytes"
	"fmt"
	"io"
	"net/netip"

	"arplab/internal/capture"
	"arplab/internal/trace"
)

// Summary is what a replay found. Counts are of records the capture reader
// returned (Frames), so a record it skipped is only in Skipped.
type Summary struct {
	Capture string       `json:"capture"`
	Host    netip.Addr   `json:"host"`
	HostMAC string       `json:"host_mac"`
	Prefix  netip.Prefix `json:"prefix"`
	Profile string       `json:"profile"`
	HZ      int          `json:"hz"`
	// Start and End are the capture times (seconds) of the first frame and
	// of the latest.
	Start float64 `json:"start"`
	End   float64 `json:"end"`

	// Frames is every record returned; ARPFrames those carrying ARP.
	Frames    int `json:"frames"`
	ARPFrames int `json:"arp_frames"`
	// Received is the ARP frames received by the host and given to the
	// model; Sent every frame the host sent.
	Received int `json:"received"`
	Sent     int `json:"sent"`
	// Outputs is the host's IPv4 packets given to the output path;
	// InferredOutputs the packets inferred from its broadcast ARP requests
	// for targets without a usable entry; InferredEntries the entries
	// inferred from its unicast sends.
	Outputs         int `json:"outputs"`
	InferredOutputs int `json:"inferred_outputs"`
	InferredEntries int `json:"inferred_entries"`
	// Confirmations is the TCP ACKs that called Confirm (spec §6.3);
	// ConfirmationsLanded the confirmations the model applied to an entry.
	Confirmations       int `json:"confirmations"`
	ConfirmationsLanded int `json:"confirmations_landed"`

	// Verdicts counts received ARP frames by verdict (honoured, ignored,
	// created, dropped).
	Verdicts map[string]int `json:"verdicts"`
	// GARPs is the received ARP frames with sender IP == target IP;
	// GARPsIgnored those the model ignored while the entry kept another
	// lladdr than the one they announced.
	GARPs int `json:"garps"`
	// NDFrames is the ND messages (received and sent) of an IPv6 host's
	// replay, whose GARPs and GARPsIgnored count unsolicited NAs.
	NDFrames     int `json:"nd_frames,omitempty"`
	GARPsIgnored int `json:"garps_ignored"`

	// Probes: predicted by the model, sent by the host (ARP requests other
	// than GARPs and DAD probes), matched, and the mismatches both ways.
	// Unverified are those the capture ended too soon to decide.
	PredictedProbes  int             `json:"predicted_probes"`
	ObservedProbes   int             `json:"observed_probes"`
	MatchedProbes    int             `json:"matched_probes"`
	MissingProbes    int             `json:"missing_probes"`
	UnexpectedProbes int             `json:"unexpected_probes"`
	UnverifiedProbes int             `json:"unverified_probes"`
	ProbeMismatches  []ProbeMismatch `json:"probe_mismatches,omitempty"`
	// AlignedTimers counts the model's timers run earlier, at the time of
	// the host's own probe (Options.NoAlign).
	AlignedTimers int `json:"aligned_timers"`
	// AlignedSeconds is how much earlier, in all, aligned timers ran than
	// the model had placed them; ProbeOffset the mean distance in time
	// between a matched predicted probe and the host's.
	AlignedSeconds float64 `json:"aligned_seconds"`
	ProbeOffset    float64 `json:"probe_offset"`
	// ProbeTolerance is the matching window used, in seconds.
	ProbeTolerance float64 `json:"probe_tolerance"`

	// Skipped counts records the reader skipped and ARP payloads that did
	// not decode, by reason.
	Skipped map[string]int `json:"skipped,omitempty"`
	// OtherLink counts frames of another interface, VLAN or device type
	// than the host's; Unrouted the host's off-link packets whose gateway
	// is unknown (no ARP frame carried its MAC, or no destination MAC).
	OtherLink int `json:"other_link"`
	Unrouted  int `json:"unrouted"`
	// ClockBackwards counts frames stamped before their predecessor,
	// ClockJumps gaps the model's clock shortened.
	ClockBackwards int `json:"clock_backwards"`
	ClockJumps     int `json:"clock_jumps"`

	// RanUntil is the capture time (seconds) the timers ran to past the
	// last frame (0: they stopped at it). Pending lists the model's timers
	// still to run at the end, soonest first.
	RanUntil float64        `json:"ran_until,omitempty"`
	Pending  []PendingTimer `json:"pending,omitempty"`

	// Stale lists the spans in which an entry pointed at a MAC that had
	// stopped answering, in the order they ended: the StaleKeep longest
	// when there were more; StaleDropped counts the others (the trace has
	// a dead-mac-end line for every span).
	Stale        []StaleSpan `json:"stale,omitempty"`
	StaleDropped int         `json:"stale_dropped,omitempty"`

	// FlowsForgotten counts the host's idle sockets forgotten past
	// stack.MaxFlows at once: a TCP ACK on one confirms nothing until the
	// host sends on it again.
	FlowsForgotten int `json:"flows_forgotten,omitempty"`
}

// Replay replays the capture file at path (pcap or pcapng, optionally
// gzip-compressed) for the host opt.Host, writing events to sink.
func Replay(path string, opt Options, sink trace.Sink) (Summary, error) {
	r, err := newReplayer(opt, path, sink)
	if err != nil {
		return Summary{}, err
	}
	rd, err := capture.Open(path)
	if err != nil {
		return Summary{}, err
	}
	h, err := identify(rd, path, r.spec)
	rd.Close()
	if err != nil {
		return Summary{}, err
	}
	if rd, err = capture.Open(path); err != nil {
		return Summary{}, err
	}
	defer rd.Close()
	return r.run(rd, h)
}

// ReplayReader is Replay for a capture read from rd; name stands for it in
// messages and in the trace header. A reader that can seek is read twice
// (once to identify the host); any other is buffered up to the frame that
// identifies the host.
func ReplayReader(rd io.Reader, name string, opt Options, sink trace.Sink) (Summary, error) {
	r, err := newReplayer(opt, name, sink)
	if err != nil {
		return Summary{}, err
	}
	var again func() (io.Reader, error)
	src := rd
	if rs, ok := rd.(io.ReadSeeker); ok {
		if start, err := rs.Seek(0, io.SeekCurrent); err == nil {
			again = func() (io.Reader, error) {
				_, err := rs.Seek(start, io.SeekStart)
				return rs, err
			}
		}
	}
	if again == nil {
		var buf bytes.Buffer
		src = io.TeeReader(rd, &buf)
		again = func() (io.Reader, error) {
			return io.MultiReader(bytes.NewReader(buf.Bytes()), rd), nil
		}
	}
	cr, err := capture.NewReader(src, name)
	if err != nil {
		return Summary{}, err
	}
	h, err := identify(cr, name, r.spec)
	if err != nil {
		return Summary{}, err
	}
	src, err = again()
	if err != nil {
		return Summary{}, fmt.Errorf("replay: %s: rewinding after identifying the host: %w", name, err)
	}
	if cr, err = capture.NewReader(src, name); err != nil {
		return Summary{}, err
	}
	return r.run(cr, h)
}

// ProgressEvery is how many frames apart Options.Progress is called.
const ProgressEvery = 1 << 16

// frameSource is what a replay reads frames from: a capture.Reader, or
// frames decoded once for many replays (RankProfiles).
type frameSource interface {
	Next() (*capture.Frame, error)
	Offset() int64
	Skipped() map[string]int
	EndTime() (ns int64, ok bool)
	Format() string
	LinkType() string
}

// run replays every frame of rd.
func (r *replayer) run(rd frameSource, h host) (Summary, error) {
	r.start(h, rd)
	for n := 1; ; n++ {
		if ctx := r.opt.Ctx; ctx != nil && n%1024 == 0 && ctx.Err() != nil {
			r.finish(rd)
			return r.sum, ctx.Err()
		}
		if r.opt.Progress != nil && n%ProgressEvery == 0 {
			r.opt.Progress(r.sum.Frames, rd.Offset())
		}
		if r.opt.MaxFrames > 0 && r.sum.Frames >= r.opt.MaxFrames {
			break
		}
		f, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			// The frames so far were replayed; say so, and where it stopped.
			r.finish(rd)
			return r.sum, err
		}
		if r.nextRead < len(r.opt.ReadAt) {
			r.readsBefore(f.Time)
		}
		r.frame(f)
	}
	r.finish(rd)
	return r.sum, nil
}

// readsBefore takes the table reads (Options.ReadAt) due before capture
// time t, running the model's timers to each.
func (r *replayer) readsBefore(t int64) {
	for r.nextRead < len(r.opt.ReadAt) && r.opt.ReadAt[r.nextRead] < t {
		at := r.opt.ReadAt[r.nextRead]
		if r.started && at > r.capAnchor { // before the first frame: the table as it was given
			r.advance(at)
		}
		if r.opt.OnRead != nil {
			r.opt.OnRead(r.nextRead, r.tbl.Entries())
		}
		r.nextRead++
	}
}
