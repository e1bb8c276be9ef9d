package cli

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"

	"github.com/spf13/cobra"

	"arplab/internal/kernel"
	"arplab/internal/replay"
	"arplab/internal/report"
	"arplab/internal/trace"
)

const replayLong = `Feed a capture taken on (or beside) a Linux host through the model as
seen by that host, and print the host's neighbour-table history: every
state change, every GARP honoured or ignored with the rule and numbers,
the probes the model predicts against the ones the capture shows, and the
entries that pointed at a MAC that had stopped answering.

CAPTURE is pcap or pcapng (Ethernet, Linux cooked SLL/SLL2, VLAN tags).
--host names the host by IP (with an optional prefix, default /24) or MAC.
--profile auto (the default) picks the modern profile (6.18).

Examples:
  arplab replay failover.pcap --host 10.0.0.1
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
	)
	c := &cobra.Command{
		Use:   "replay CAPTURE --host IP|MAC",
		Short: "replay a pcap/pcapng capture through the model as seen by one host",
		Long:  replayLong,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.Host == "" {
				return usagef("--host is required (the observed host's IP or MAC)")
			}
			p, err := kernel.Lookup(profile)
			if err != nil {
				return usageError{err}
			}
			profileNote(e.stderr, "--profile", profile)
			if p, err = p.WithPatches(patches); err != nil {
				return usageError{err}
			}
			o.Profile = p
			o.NoInferEntries = noInfer
			var rec trace.Recorder
			out := bufio.NewWriter(e.stdout)
			defer out.Flush()
			var sink trace.Sink = &rec
			var js *jsonSink
			if asJSON {
				// stream: keep events in memory only for an HTML page
				js = &jsonSink{enc: trace.NewEncoder(out)}
				sink = js
				if html != "" {
					sink = tee{&rec, js}
				}
			}
			sum, err := replay.Replay(args[0], o, sink)
			if err != nil {
				return err
			}
			if html != "" {
				if err := writeFile(html, func(w io.Writer) error {
					return report.HTML(w, rec.Events, report.HTMLOptions{Title: "arplab replay " + args[0]})
				}); err != nil {
					return err
				}
			}
			if asJSON {
				if js.err != nil {
					return js.err
				}
				b, _ := json.Marshal(map[string]any{"summary": sum})
				_, err := out.Write(append(b, '\n'))
				return err
			}
			color := colorFor(e.stdout)
			fmt.Fprintf(out, "arplab replay %s  host %v (%s)  profile %s HZ=%d\n", args[0], sum.Host, sum.HostMAC, sum.Profile, sum.HZ)
			fmt.Fprintf(out, "%d frames, %d ARP; the host received %d and sent %d; GARPs %d, %d ignored; probes predicted %d, seen %d, missing %d, unexpected %d\n",
				sum.Frames, sum.ARPFrames, sum.Received, sum.Sent, sum.GARPs, sum.GARPsIgnored, sum.PredictedProbes, sum.ObservedProbes, sum.MissingProbes, sum.UnexpectedProbes)
			for _, reason := range slices.Sorted(maps.Keys(sum.Skipped)) {
				fmt.Fprintf(out, "skipped %d record(s): %s\n", sum.Skipped[reason], reason)
			}
			for _, s := range sum.Stale {
				fmt.Fprintf(out, "entry %v pointed at %s, which stopped answering, for %.1f s (%d send(s); %s)\n", s.IP, s.MAC, s.Seconds, s.Sends, s.End)
			}
			fmt.Fprintln(out)
			return report.Timeline(out, rec.Events, report.TextOptions{Width: width, Color: color})
		},
	}
	f := c.Flags()
	f.StringVar(&o.Host, "host", "", "the observed host: IP[/prefix] or MAC")
	f.StringVar(&profile, "profile", "auto", "kernel profile of the host (auto: the modern one)")
	f.StringArrayVar(&patches, "patch", nil, "add (+name) or remove (-name) a kernel patch")
	f.IntVar(&o.HZ, "hz", 0, "the host's HZ (default: the profile's)")
	f.StringArrayVar(&o.Sysctls, "set", nil, "key=value sysctl in force on the host (arp_accept=1, locktime=50)")
	f.StringArrayVar(&o.Initial, "initial", nil, "IP=MAC[,STATE[,AGE]]: an entry that existed before the capture (AGE: set that long before the first frame, e.g. 40s)")
	f.Uint64Var(&o.Seed, "seed", 1, "seed of the reachable_time random stream")
	f.BoolVar(&asJSON, "json", false, "write the trace as JSON lines (docs/trace.md), then a summary line")
	f.StringVar(&html, "html", "", "also write an HTML timeline to this file")
	f.IntVar(&width, "width", 100, "timeline width in columns")
	f.BoolVar(&noInfer, "no-infer", false, "do not infer pre-existing entries from the host's unicast sends")
	return c
}
