package cli

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"arplab/internal/garp"
	livegarp "arplab/internal/live/garp"
	"arplab/internal/nsexec"
	"arplab/internal/scenario"
	"arplab/internal/wire/arp"
)

// naFlags are `arplab garp --ipv6`'s own flags (the announcement's IPv6
// knobs); garpCmd registers them and hands over to runNA.
type naFlags struct {
	ipv6, router bool
	naFlags      string
	source       string
}

func (n *naFlags) register(f *pflag.FlagSet) {
	f.BoolVar(&n.ipv6, "ipv6", false, "announce an IPv6 address with unsolicited neighbour advertisements (implied by an IPv6 IP)")
	f.StringVar(&n.naFlags, "na-flags", "", "--ipv6 custom NAs: letters of R, S, O, or none (default O)")
	f.StringVar(&n.source, "source", "", "--ipv6: the NA's IPv6 source (metallb, ndsend: the link-local; custom: default IP)")
	f.BoolVar(&n.router, "router", false, "--ipv6: set the Router flag (default: IFACE's IPv6 forwarding, as keepalived and the kernel do)")
}

// naOnly are the flags that only an IPv6 announcement takes, and ipv4Only
// the ones only ARP takes.
var (
	naOnly   = []string{"na-flags", "source", "router"}
	ipv4Only = []string{"mode", "tha"}
)

// runNA sends (or with --dry-run prints) the unsolicited NAs of preset
// (custom when empty) for ip on ifname. o carries the generic knobs
// (count, interval, delay) already parsed.
func runNA(e *env, cmd *cobra.Command, n *naFlags, ifname string, ip netip.Addr, preset, netns string, o garp.Options, dry, force bool) error {
	fl := cmd.Flags()
	for _, name := range ipv4Only {
		if fl.Changed(name) {
			return usagef("--%s is for ARP; an IPv6 announcement takes --preset or --na-flags", name)
		}
	}
	if !ip.Is6() || ip.Is4In6() {
		return usagef("--ipv6: %q is not an IPv6 address", ip)
	}
	name := preset
	if name == "" {
		name = garp.Custom
		o.NAFlags = n.naFlags
	} else if fl.Changed("na-flags") {
		return usagef("--na-flags goes with a custom schedule, not with --preset %s", preset)
	}
	// the generic knobs within the scenario limits (counts, spacing)
	generic := garp.Options{Count: o.Count, Interval: o.Interval, Delay: o.Delay, Mode: garp.ModeRequest}
	if err := scenario.CheckSender(garp.Custom, generic, 0); err != nil {
		return usagef("%s", flagWords.Replace(err.Error()))
	}
	if n.source != "" {
		src, err := netip.ParseAddr(n.source)
		if err != nil || !src.Is6() || src.Is4In6() {
			return usagef("--source %q: want an IPv6 address", n.source)
		}
		o.Source = &src
	}
	var p garp.Preset
	for _, q := range garp.NAPresets() {
		if q.Name == name {
			p = q
		}
	}
	if p.Name == "" {
		return usagef("--preset %s has no IPv6 form (IPv6 senders: %s)", name, naPresetNames())
	}
	mac, err := interfaceMAC(netns, ifname, dry)
	if err != nil {
		return err
	}
	if slices.Contains(p.Knobs, garp.KnobForwarding) {
		o.Forwarding = n.router
		if !fl.Changed("router") {
			fw, err := livegarp.IPv6Forwarding(netns, ifname)
			if err != nil && !dry {
				return fmt.Errorf("%v (give --router or --router=false)", err)
			}
			o.Forwarding = fw
		}
	} else if fl.Changed("router") && name != garp.Custom {
		return usagef("--preset %s always sends R=0; --router goes with keepalived, kernel-notify or a custom schedule", name)
	} else if n.router {
		o.NAFlags = orDefault(o.NAFlags, "O") + "R"
	}
	frames, err := garp.NASchedule(name, mac, ip, o)
	if err != nil {
		return usageError{err}
	}
	if len(frames) > scenario.MaxGARPFrames {
		return usagef("the sender would send %d NAs (at most %d)", len(frames), scenario.MaxGARPFrames)
	}
	sent, err := livegarp.SendNA(e.ctx, ifname, frames, livegarp.SendOptions{Netns: netns, Force: force, DryRun: dry, Out: e.stdout, MAC: mac})
	return sendResult(e, len(sent), err, "NA(s)", ifname, dry)
}

// interfaceMAC is ifname's MAC in netns; a dry run goes on without one
// (the frames then show 00:00:00:00:00:00).
func interfaceMAC(netns, ifname string, dry bool) (arp.MAC, error) {
	var mac arp.MAC
	err := nsexec.Do(netns, func() error {
		ifi, err := net.InterfaceByName(ifname)
		if err != nil {
			return err
		}
		copy(mac[:], ifi.HardwareAddr)
		return nil
	})
	if err != nil && !dry {
		return mac, fmt.Errorf("interface %q: %v", ifname, err)
	}
	return mac, nil
}

// sendResult reports a sender's outcome: the error (with advice for a
// missing capability), or how many frames (what) left ifname.
func sendResult(e *env, sent int, err error, what, ifname string, dry bool) error {
	if err != nil {
		if errors.Is(err, livegarp.ErrPermission) {
			return fmt.Errorf("%v (try sudo)", err)
		}
		return err
	}
	if !dry {
		fmt.Fprintf(e.stdout, "sent %d %s on %s\n", sent, what, ifname)
	}
	return nil
}

// orDefault is s, or def when s is empty, and "" for "none".
func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	if s == "none" {
		return ""
	}
	return s
}

func naPresetNames() string {
	var n []string
	for _, p := range garp.NAPresets() {
		n = append(n, p.Name)
	}
	return strings.Join(n, ", ")
}
