package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/netip"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"arplab/internal/garp"
	"arplab/internal/live/doctor"
	livegarp "arplab/internal/live/garp"
	"arplab/internal/live/watch"
	"arplab/internal/scenario"
	"arplab/internal/trace"
	"arplab/internal/wire/arp"
)

// flagWords names `arplab garp`'s flags in errors about the sender's knobs.
var flagWords = strings.NewReplacer("knob tha ", "knob --tha ", "count ", "--count ", "interval ", "--interval ", "delay ", "--delay ", "mode ", "--mode ")

var knobListRE = regexp.MustCompile(`\(it has: ([^;)]*)[^)]*\)`)

// senderFlagError is a sender check's error in the garp command's words:
// a knob the preset lacks lists the preset's knobs this command has a
// flag for, not the scenario fields it cannot set.
func senderFlagError(err error) error {
	msg := flagWords.Replace(err.Error())
	msg = knobListRE.ReplaceAllStringFunc(msg, func(m string) string {
		var flags []string
		for _, k := range strings.Split(knobListRE.FindStringSubmatch(m)[1], ", ") {
			if k == "count" || k == "interval" || k == "delay" {
				flags = append(flags, "--"+k)
			}
		}
		has := "none of its knobs has a flag here"
		if len(flags) > 0 {
			has = "its knobs with a flag here: " + strings.Join(flags, ", ")
		}
		return "(" + has + "; a scenario's garp event sets every knob; without --preset, the custom schedule takes --count, --interval, --delay, --mode and --tha)"
	})
	return usageError{errors.New(msg)}
}

func garpCmd(e *env) *cobra.Command {
	var (
		mode, preset, tha, netns, interval, delay string
		count                                     int
		dry, force                                bool
		na                                        naFlags
	)
	c := &cobra.Command{
		Use:   "garp IFACE IP",
		Short: "send gratuitous ARP on a real interface, as real tools send it",
		Long: `Send gratuitous ARP for IP on IFACE. --preset reproduces a real sender's
schedule and frame shape exactly (arping-U, arping-A, neutron,
neutron-legacy, keepalived, metallb, cilium, kube-vip, kernel-notify,
ucarp); without a preset, --mode request|reply|both with --count,
--interval (sub-second allowed) and --delay build a custom schedule.
Frames are byte-identical to iputils arping -U / -A.

An IPv6 IP (or --ipv6) sends unsolicited neighbour advertisements
instead, as keepalived (VRRPv3), metallb (NDP mode), kernel-notify
(ndisc_notify) and ndsend send them (spec linux-ndisc §10.1; frames
byte-identical to the kernel's and keepalived's), or a custom schedule
with --na-flags, --source and --router.

Needs CAP_NET_RAW. Refuses when IFACE is missing or down, or when IP is
not configured on it (--force sends anyway: announcing an address you do
not own redirects your peers' traffic to you).

Examples:
  arplab garp eth0 192.0.2.10 --preset arping-U --count 3
  arplab garp eth0 192.0.2.10 --mode both --count 5 --interval 1.1s
  arplab garp eth0 192.0.2.10 --preset metallb --dry-run
  arplab garp eth0 2001:db8::10 --preset keepalived --dry-run`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ifname := args[0]
			ip, err := netip.ParseAddr(args[1])
			if err != nil || !(ip.Is4() || ip.Is6()) {
				return usagef("%q is not an IP address", args[1])
			}
			o := garp.Options{Count: count}
			if interval != "" {
				d, err := scenario.ParseDuration(interval)
				if err != nil {
					return usagef("--interval: %v", err)
				}
				o.Interval = d
			}
			if delay != "" {
				d, err := scenario.ParseDuration(delay)
				if err != nil {
					return usagef("--delay: %v", err)
				}
				o.Delay = d
			}
			if tha != "" {
				m, err := arp.ParseMAC(tha)
				if err != nil {
					return usagef("--tha: %v", err)
				}
				o.THA = &m
			}
			if na.ipv6 || (ip.Is6() && !ip.Is4In6()) {
				return runNA(e, cmd, &na, ifname, ip, preset, netns, o, dry, force)
			}
			for _, f := range naOnly {
				if cmd.Flags().Changed(f) {
					return usagef("--%s is for IPv6 announcements (--ipv6)", f)
				}
			}
			name := preset
			if name == "" {
				name = garp.Custom
				o.Mode = mode
				if o.Count == 0 {
					o.Count = 3
				}
			} else if cmd.Flags().Changed("mode") {
				return usagef("--mode goes with a custom schedule, not with --preset %s", preset)
			}
			// the scenario's limits: a count or spacing past them is a
			// usage error here, not a schedule that never ends
			if err := scenario.CheckSender(name, o, 0); err != nil {
				return senderFlagError(err)
			}
			mac, err := interfaceMAC(netns, ifname, dry)
			if err != nil {
				return err
			}
			frames, err := garp.Schedule(name, mac, ip, o)
			if err != nil {
				return usageError{err}
			}
			sent, err := livegarp.Send(e.ctx, ifname, frames, livegarp.SendOptions{Netns: netns, Force: force, DryRun: dry, Out: e.stdout})
			return sendResult(e, len(sent), err, "frame(s)", ifname, dry)
		},
	}
	f := c.Flags()
	f.StringVar(&preset, "preset", "", "a real sender's schedule: "+presetNames())
	f.StringVar(&mode, "mode", "request", "custom schedule: request, reply or both")
	f.IntVar(&count, "count", 0, "frames (or rounds); presets default to 3")
	f.StringVar(&interval, "interval", "", "spacing between frames, e.g. 1s, 1.1s, 200ms")
	f.StringVar(&delay, "delay", "", "wait before the first frame")
	f.StringVar(&tha, "tha", "", "target hardware address of custom frames")
	f.StringVar(&netns, "netns", "", "send inside this named network namespace")
	f.BoolVar(&dry, "dry-run", false, "print the frames (hex and decoded) without sending")
	f.BoolVar(&force, "force", false, "send even if IP is not configured on IFACE")
	na.register(f)
	return c
}

func presetNames() string {
	var n []string
	for _, p := range garp.Presets() {
		n = append(n, p.Name)
	}
	return strings.Join(n, ", ")
}

func watchCmd(e *env) *cobra.Command {
	var (
		netns   string
		tr      bool
		asJSON  bool
		buffer  int
		seconds float64
		mf      metricsFlags
	)
	c := &cobra.Command{
		Use:   "watch [IFACE...]",
		Short: "watch neighbour-table changes live, with their probable cause",
		Long: `Print one line per neighbour-table change (time, dev, ip, lladdr,
old→new state) with the probable cause: a GARP or reply seen on the wire
at that moment, a timer, a probe answered. --trace also reads the kernel's
neigh:neigh_update tracepoint (root) so that ignored updates appear too,
with the reason. Netlink buffer overruns are survived by re-reading the
table (and said so). Ctrl-C exits cleanly.

--metrics ADDR serves Prometheus metrics (docs/metrics.md) while
watching; --quiet drops the stream. It keeps serving when an interface
comes and goes, without the tracepoint, and after netlink overruns.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if seconds < 0 || math.IsNaN(seconds) || math.IsInf(seconds, 0) {
				return usagef("--seconds %v: want a time in seconds, 0 or more (0: until Ctrl-C)", seconds)
			}
			if buffer < 0 {
				return usagef("--buffer %d: want a size in bytes, 0 or more (0: the kernel's default)", buffer)
			}
			if err := mf.check(cmd.Flags()); err != nil {
				return err
			}
			ctx := e.ctx
			if seconds > 0 {
				var cancel func()
				ctx, cancel = context.WithTimeout(ctx, time.Duration(seconds*float64(time.Second)))
				defer cancel()
			}
			enc := trace.NewEncoder(e.stdout)
			out := func(ev trace.Event) {
				if asJSON {
					enc.Encode(ev)
					return
				}
				fmt.Fprintln(e.stdout, watchLine(ev))
			}
			opt := watch.WatchOptions{Netns: netns, Interfaces: args, Trace: tr, NetlinkBuffer: buffer}
			var stopMetrics func() error
			if mf.addr != "" {
				var err error
				if ctx, stopMetrics, err = mf.start(ctx, e, &opt); err != nil {
					return err
				}
			}
			err := watchUntilStopped(ctx, e, opt, mf.stream(out))
			if err != nil && ctx.Err() != nil {
				err = nil
			}
			if stopMetrics != nil {
				if serr := stopMetrics(); err == nil {
					err = serr
				}
			}
			return err
		},
	}
	f := c.Flags()
	f.StringVar(&netns, "netns", "", "watch inside this named network namespace")
	f.BoolVar(&tr, "trace", false, "also read the neigh_update tracepoint (ignored updates; root)")
	f.BoolVar(&asJSON, "json", false, "JSON lines in the trace vocabulary")
	f.IntVar(&buffer, "buffer", 0, "netlink receive buffer in bytes (0: kernel default)")
	f.Float64Var(&seconds, "seconds", 0, "stop after this many seconds (0: until Ctrl-C)")
	mf.register(f)
	return c
}

func watchLine(ev trace.Event) string {
	t := time.Unix(0, int64(ev.Time*1e9)).Format("15:04:05.000")
	switch ev.Kind {
	case trace.KindState:
		return fmt.Sprintf("%s %-8s %-15s %-17s %s→%s  %s", t, ev.Dev, ev.IP, ev.LLAddr, orDash(ev.OldState), ev.State, ev.Explanation)
	case trace.KindARP:
		return fmt.Sprintf("%s %-8s %-15s %-17s %-8s %s", t, ev.Dev, ev.IP, ev.LLAddr, ev.Verdict, ev.Explanation)
	case trace.KindND:
		return fmt.Sprintf("%s %-8s %-15s %-17s %-8s %s: %s", t, ev.Dev, ev.IP, ev.LLAddr, ev.Verdict, ev.Cause, ev.Explanation)
	}
	return fmt.Sprintf("%s %-8s %s", t, ev.Kind, ev.Explanation)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func doctorCmd(e *env) *cobra.Command {
	var netns string
	var asJSON bool
	c := &cobra.Command{
		Use:   "doctor",
		Short: "read this host's ARP sysctls and say which failure mechanisms apply",
		Long: `Read the kernel release and every sysctl that decides what happens to
gratuitous ARP (per interface), map the host to the closest kernel
profile, and say which failure mechanisms apply here and what to change,
with the reason and the trade-off.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := doctor.Inspect(netns)
			if err != nil {
				return err
			}
			adv := doctor.Advise(r)
			if asJSON {
				return json.NewEncoder(e.stdout).Encode(map[string]any{"kind": trace.OutputDoctor, "report": r, "advice": adv})
			}
			writeDoctorText(e.stdout, r, adv)
			return nil
		},
	}
	c.Flags().StringVar(&netns, "netns", "", "inspect this named network namespace")
	c.Flags().BoolVar(&asJSON, "json", false, "JSON output")
	return c
}

// writeDoctorText prints doctor's text report: the kernel and the profile
// picked for it (with the resolver's reason and what is unknown for that
// profile), the interfaces, then each finding with its change, reason and
// trade-off. render prints a saved `doctor --json` the same way.
func writeDoctorText(w io.Writer, r doctor.Report, adv []doctor.Advice) {
	fmt.Fprintf(w, "kernel %s → profile %s", r.Release, r.Profile)
	if r.HZ > 0 {
		fmt.Fprintf(w, ", HZ=%d", r.HZ)
	}
	fmt.Fprintf(w, "; %d neighbour entries\n", r.Entries)
	if r.ProfileWhy != "" {
		fmt.Fprintf(w, "  (%s)\n", r.ProfileWhy)
	}
	for _, u := range r.Unknown {
		fmt.Fprintf(w, "  unknown for this profile: %s\n", u)
	}
	for _, i := range r.Interfaces {
		addrs := strings.Join(i.Addrs, " ")
		if addrs == "" {
			addrs = "(no IPv4 address: nothing to advise)"
		}
		fmt.Fprintf(w, "  %s %s %s\n", i.Name, i.MAC, addrs)
	}
	if len(adv) == 0 {
		fmt.Fprintln(w, "\nno findings: GARPs will be honoured here")
	}
	for _, a := range adv {
		where := ""
		if a.Dev != "" {
			where = " [" + a.Dev + "]"
		}
		fmt.Fprintf(w, "\n%s: %s%s (%s)\n  %s\n  change: %s\n  why: %s\n  trade-off: %s\n",
			strings.ToUpper(a.Severity), a.Mechanism, where, a.Rule, a.Finding, a.Change, a.Why, a.TradeOff)
	}
}
