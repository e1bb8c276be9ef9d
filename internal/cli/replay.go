package cli

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"runtime"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"arplab/internal/kernel"
	"arplab/internal/replay"
	"arplab/internal/report"
	"arplab/internal/stack"
	"arplab/internal/trace"
	"arplab/internal/vtime"
)

const replayLong = `Feed a capture taken on (or beside) a Linux host through the model as
seen by that host, and print the host's neighbour-table history: every
state change, every GARP honoured or ignored with the rule and numbers,
the probes the model predicts against the ones the capture shows, and the
entries that pointed at a MAC that had stopped answering.

CAPTURE is pcap or pcapng (Ethernet, Linux cooked SLL/SLL2, VLAN tags).
--host names the host by IP (with an optional prefix, default /24), by MAC,
or by both as IP[/prefix]@MAC: a host that never speaks in the capture (it
only receives GARPs or replies) needs both. Without --host, or when the
capture does not show the host, the hosts that speak in it are listed.
A capture without a single frame is an error (nothing to replay).
The replay ends at the last frame, or runs the model's timers on to --until
(+DURATION after the last frame, or a capture time); a pcapng capture's own
end time is the default end. Timers still pending at the end are listed
("10.0.0.50 DELAY: PROBE … at +2.000 s").

With the 4.8+ timer wheel a timer runs up to one granularity late, at a
moment that depends on the host's jiffies, which no capture shows: the
model places such timers at the latest tick they could run, and when the
host sends a probe that one of them would send, the model runs that timer
at the frame's time (a note "aligned" says by how much). --no-align turns
this off.
--profile auto (the default) replays the capture under every kernel profile
and uses the one that best predicts the host's own probes and their timing
(it says which, and how well); with no probe from the host, the newest.

The text report streams, whatever the capture's length: it keeps per
entry its spans, marks, counters and the events that matter, and draws
the --top entries (default 10) that matter most: the longest time an entry
pointed at a MAC that stopped answering, then GARPs ignored while it kept
another MAC, lladdr changes and probe mismatches; --all draws every entry.
--html draws the same entries from the same bounded state as a page.
On a terminal, a long replay shows its progress on stderr.

Examples:
  arplab replay failover.pcap --host 10.0.0.1
  arplab replay garps-only.pcap --host 10.0.0.1/24@02:00:00:00:00:01 --set arp_accept=1
  arplab replay any.pcapng --host 02:00:00:00:00:01 --profile rhel7.3 --hz 1000 \
      --initial 10.0.0.10=52:54:00:ac:fb:f4,STALE --json > trace.jsonl`

func replayCmd(e *env) *cobra.Command {
	var (
		o       replay.Options
		profile string
		patches []string
		asJSON  bool
		html    string
		width   int
		noInfer bool
		top     int
		all     bool
	)
	c := &cobra.Command{
		Use:   "replay CAPTURE --host IP|MAC",
		Short: "replay a pcap/pcapng capture through the model as seen by one host",
		Long:  replayLong,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.Host == "" {
				msg := "--host is required (the observed host's IP, MAC or IP@MAC)"
				if cs, err := replay.Candidates(args[0]); err == nil && len(cs) > 0 {
					msg += "; hosts that send in " + args[0] + ":"
					for i, c := range cs {
						if i == 10 {
							msg += fmt.Sprintf(" and %d more", len(cs)-10)
							break
						}
						msg += " " + c.String()
					}
				}
				return usagef("%s", msg)
			}
			if o.HZ != 0 && vtime.ValidHZ(o.HZ) != nil {
				return usagef("--hz %d is not a kernel tick rate (allowed: 100, 250, 300 or 1000)", o.HZ)
			}
			if _, err := kernel.Lookup(profile); err != nil {
				return usagef("--profile %s: %v", profile, err)
			}
			p, err := lookupWithPatches(profile, patches)
			if err != nil {
				return usagef("--patch: %v", err)
			}
			profileNote(e.stderr, "--profile", profile)
			o.Profile = p
			o.NoInferEntries = noInfer
			if err := replay.Check(o); err != nil {
				return usageError{err}
			}
			if top < 1 {
				return usagef("--top %d: draw at least one entry (--all draws every one)", top)
			}
			if width < minWidth || width > maxWidth {
				return usagef("--width %d is out of range (allowed: %d to %d columns)", width, minWidth, maxWidth)
			}
			o.Ctx = e.ctx
			if !asJSON || html != "" {
				defer heapBudget(replayHeapBudget)() // a Digest's memory (replaymem.go)
			}
			var bar *progressBar
			if isTerminal(e.stderr) {
				var size int64
				if st, err := os.Stat(args[0]); err == nil {
					size = st.Size()
				}
				if strings.HasSuffix(args[0], ".gz") {
					size = 0 // the reader counts bytes after decompression
				}
				bar = newProgressBar(e.stderr, size)
				o.Progress = bar.update
			}
			newDigest := func() *report.Digest { return report.NewDigest(report.DigestOptions{Top: top, All: all, Width: width}) }
			// The text report is written at the end, so with --profile
			// auto its replay starts at once under the profile used when
			// the ranking finds nothing (the usual outcome), beside the
			// ranking, and is redone only if the ranking picks another.
			var spec *textReplay
			text := !asJSON
			if profile == "auto" && o.HZ == 0 {
				if text {
					spec = startTextReplay(args[0], o, newDigest())
				}
				ro := o
				ro.Progress = nil
				if spec != nil {
					// the text replay keeps a core while it runs (the
					// command waits for it); then the ranking takes all
					ro.RankWorkers, ro.RankWake = max(runtime.GOMAXPROCS(0)-1, 1), spec.done
				}
				fits, err := replay.RankProfiles(func() (io.Reader, error) { return os.Open(args[0]) }, args[0], ro)
				if err != nil {
					spec.wait()
					return err
				}
				if best, ties, ok := replay.Best(fits); ok {
					if o.Profile, err = lookupWithPatches(best.Profile, patches); err != nil {
						spec.wait()
						return usageError{err}
					}
					tied := ""
					if len(ties) > 0 {
						tied = ", tied with " + strings.Join(ties, ", ")
					}
					bar.clear()
					fmt.Fprintf(e.stderr, "profile auto: %s fits best%s: %s\n", best.Profile, tied, best)
				} else {
					bar.clear()
					fmt.Fprintf(e.stderr, "profile auto: nothing the host sends in the capture tells the kernels apart: using the latest profile\n")
				}
			}
			out := bufio.NewWriterSize(e.stdout, 1<<16)
			defer out.Flush()
			// The text timeline and the HTML page stream: a Digest keeps
			// bounded state per entry, not every event.
			dg := newDigest()
			var sink trace.Sink = dg
			var js *asyncJSON
			if asJSON {
				js = newAsyncJSON(out)
				defer js.close() // on every return, before out.Flush
				sink = js
				if html != "" {
					sink = tee{js, dg}
				}
			}
			var sum replay.Summary
			if spec != nil && spec.opt.Profile.Name != o.Profile.Name {
				spec.cancel() // the ranking picked another profile
				spec.wait()
				spec = nil
			}
			if spec.wait() {
				sum, dg, err = spec.sum, spec.dg, spec.err
			} else {
				sum, err = replay.Replay(args[0], o, sink)
			}
			if js != nil {
				js.close() // every line written before anything else is
			}
			bar.done() // before the report reaches the same terminal
			// Ctrl-C: the frames replayed so far are reported, marked
			// partial (on stderr with --json, which stays one summary)
			partial := err != nil && e.ctx.Err() != nil && sum.Frames > 0
			if err != nil && !partial {
				return err
			}
			end := func(err error) error {
				if err != nil || !partial {
					return err
				}
				w := io.Writer(out)
				if asJSON {
					out.Flush()
					w = e.stderr
				}
				fmt.Fprintf(w, "partial: interrupted after %d frames\n", sum.Frames)
				return e.ctx.Err()
			}
			if html != "" {
				if err := writeFile(html, func(w io.Writer) error {
					return dg.HTML(w, report.HTMLOptions{Title: "arplab replay " + args[0]})
				}); err != nil {
					return err
				}
			}
			if asJSON {
				if js.err != nil {
					return js.err
				}
				b, _ := json.Marshal(map[string]any{"kind": trace.OutputSummary, "summary": sum})
				_, err := out.Write(append(b, '\n'))
				return end(err)
			}
			color := colorFor(e.stdout)
			fmt.Fprintf(out, "arplab replay %s  host %v (%s)  profile %s HZ=%d\n", args[0], sum.Host, sum.HostMAC, sum.Profile, sum.HZ)
			proto, frames, ann := "ARP", sum.ARPFrames, "GARPs"
			if sum.Host.Is6() {
				proto, frames, ann = "ND", sum.NDFrames, "unsolicited NAs" // nd_tbl (ndisc §10)
			}
			fmt.Fprintf(out, "%d frames, %d %s; the host received %d and sent %d; %s %d, %d ignored; probes predicted %d, seen %d, missing %d, unexpected %d\n",
				sum.Frames, frames, proto, sum.Received, sum.Sent, ann, sum.GARPs, sum.GARPsIgnored, sum.PredictedProbes, sum.ObservedProbes, sum.MissingProbes, sum.UnexpectedProbes)
			for _, reason := range slices.Sorted(maps.Keys(sum.Skipped)) {
				fmt.Fprintf(out, "skipped %d record(s): %s\n", sum.Skipped[reason], reason)
			}
			if sum.FlowsForgotten > 0 {
				fmt.Fprintf(out, "forgot %d idle socket(s) of the host (it follows %d at once): an ACK on one confirmed nothing until the host sent on it again\n", sum.FlowsForgotten, stack.MaxFlows)
			}
			for i, p := range sum.Pending {
				if i == top && !all {
					fmt.Fprintf(out, "… %d more timers pending at the end (--all lists every one)\n", len(sum.Pending)-top)
					break
				}
				fmt.Fprintf(out, "pending at the end: %s %s: %s at +%.3f s\n", p.IP, p.State, p.What, p.In)
			}
			staleLines(out, sum.Stale, sum.StaleDropped, top, all)
			fmt.Fprintln(out)
			return end(dg.Timeline(out, report.TextOptions{Width: width, Color: color}))
		},
	}
	f := c.Flags()
	f.StringVar(&o.Host, "host", "", "the observed host: IP[/prefix], MAC, or IP[/prefix]@MAC")
	f.StringVar(&profile, "profile", "auto", "kernel profile of the host (auto: the one that best predicts the host's own probes)")
	f.StringArrayVar(&patches, "patch", nil, "add (+name) or remove (-name) a kernel patch")
	f.IntVar(&o.HZ, "hz", 0, "the host's HZ (default: the profile's)")
	f.StringArrayVar(&o.Sysctls, "set", nil, "key=value sysctl in force on the host (arp_accept=1, locktime=50)")
	f.StringArrayVar(&o.Initial, "initial", nil, "IP=MAC[,STATE[,AGE]]: an entry that existed before the capture (AGE: set that long before the first frame, e.g. 40s)")
	f.Uint64Var(&o.Seed, "seed", 1, "seed of the reachable_time random stream")
	f.BoolVar(&asJSON, "json", false, "write the trace as JSON lines (docs/trace.md), then a summary line")
	f.StringVar(&html, "html", "", "also write an HTML timeline to this file (the entries the text draws: --top, --all)")
	f.IntVar(&width, "width", 100, "timeline width in columns")
	f.IntVar(&top, "top", 10, "text: draw this many entries, the most telling first (dead MACs, ignored GARPs, lladdr changes)")
	f.BoolVar(&all, "all", false, "text: draw every entry and list every dead-MAC span")
	f.StringVar(&o.Until, "until", "", "run the model's timers past the last frame: +DURATION after it (+30s) or a capture time in seconds (default: pcapng's end time, if later)")
	f.BoolVar(&o.NoAlign, "no-align", false, "do not run the model's timers at the time of the host's own probes")
	f.BoolVar(&noInfer, "no-infer", false, "do not infer pre-existing entries from the host's unicast sends")
	return c
}

// lookupWithPatches is a profile by name with --patch edits applied.
func lookupWithPatches(name string, patches []string) (kernel.Profile, error) {
	p, err := kernel.Lookup(name)
	if err != nil {
		return p, err
	}
	return p.WithPatches(patches)
}

// staleLines lists the dead-MAC spans, the longest first when there are
// more than top of them (all: every one kept, in the order they ended);
// dropped is how many shorter ones the replay did not keep.
func staleLines(w io.Writer, spans []replay.StaleSpan, dropped, top int, all bool) {
	list := spans
	if !all && len(spans) > top {
		list = slices.Clone(spans)
		slices.SortStableFunc(list, func(a, b replay.StaleSpan) int { return cmp.Compare(b.Seconds, a.Seconds) })
		list = list[:top]
	}
	for _, s := range list {
		fmt.Fprintf(w, "entry %v pointed at %s, which stopped answering, for %.1f s (%d send(s); %s)\n", s.IP, s.MAC, s.Seconds, s.Sends, s.End)
	}
	switch left := len(spans) - len(list); {
	case left > 0 && dropped == 0:
		fmt.Fprintf(w, "… %d more dead-MAC spans, shorter (--all lists every one; --json has them all)\n", left)
	case left > 0:
		fmt.Fprintf(w, "… %d more dead-MAC spans, shorter (--all lists the %d longest; --json has them all)\n", left+dropped, len(spans))
	case dropped > 0:
		fmt.Fprintf(w, "… %d more dead-MAC spans, shorter than these %d (the replay keeps the longest; --json has them all as dead-mac-end lines)\n", dropped, len(spans))
	}
}

// textReplay is a text-mode replay running in the background.
type textReplay struct {
	opt    replay.Options
	dg     *report.Digest
	sum    replay.Summary
	err    error
	done   chan struct{}
	cancel context.CancelFunc
}

func startTextReplay(path string, o replay.Options, dg *report.Digest) *textReplay {
	parent := o.Ctx
	if parent == nil {
		parent = context.Background()
	}
	t := &textReplay{opt: o, dg: dg, done: make(chan struct{})}
	o.Ctx, t.cancel = context.WithCancel(parent)
	go func() {
		defer t.cancel()
		defer close(t.done)
		t.sum, t.err = replay.Replay(path, o, dg)
	}()
	return t
}

// wait waits for the replay to end (nil: there is none) and reports
// whether there was one.
func (t *textReplay) wait() bool {
	if t == nil {
		return false
	}
	<-t.done
	return true
}

// asyncJSON is the JSON-lines sink of `replay --json`: the replay builds
// the events and hands them over in batches, and another goroutine
// encodes and writes them in order, so that on a machine with two cores
// the encoding (a third of the work) runs beside the model. Batches in
// flight are bounded (asyncBatches of asyncBatch events).
type asyncJSON struct {
	batch []trace.Event
	full  chan []trace.Event
	free  chan []trace.Event
	done  chan struct{}
	err   error // the first write error; read after close
	shut  bool
}

const (
	asyncBatch   = 256
	asyncBatches = 4
)

func newAsyncJSON(w io.Writer) *asyncJSON {
	j := &asyncJSON{full: make(chan []trace.Event, asyncBatches), free: make(chan []trace.Event, asyncBatches+1),
		done: make(chan struct{}), batch: make([]trace.Event, 0, asyncBatch)}
	enc := trace.NewEncoder(w)
	go func() {
		defer close(j.done)
		for b := range j.full {
			for i := range b {
				if j.err == nil {
					j.err = enc.Encode(b[i])
				}
			}
			clear(b) // drop the events' pointers before reuse
			select {
			case j.free <- b[:0]:
			default: // the last batches, once the replay has ended
			}
		}
	}()
	return j
}

// Emit queues an event; the events are written in the order given.
func (j *asyncJSON) Emit(ev trace.Event) {
	j.batch = append(j.batch, ev)
	if len(j.batch) == asyncBatch {
		j.full <- j.batch
		select {
		case j.batch = <-j.free:
		default:
			j.batch = make([]trace.Event, 0, asyncBatch)
		}
	}
}

// close writes what is queued and waits until it is written; it may be
// called more than once.
func (j *asyncJSON) close() {
	if j.shut {
		return
	}
	j.shut = true
	if len(j.batch) > 0 {
		j.full <- j.batch
	}
	close(j.full)
	<-j.done
}
