package neigh

import (
	"net/netip"
	"testing"

	"arplab/internal/vtime"
	"arplab/internal/wire/arp"
	"pgregory.net/rapid"
)

// genDecision draws a decision of any rule with any values, the
// impossible combinations included: Explain must say the same as the fmt
// version whatever it is given.
func genDecision(t *rapid.T) Decision {
	mac := func(label string) arp.MAC {
		var m arp.MAC
		copy(m[:], rapid.SliceOfN(rapid.Byte(), 6, 6).Draw(t, label))
		return m
	}
	state := rapid.SampledFrom([]State{None, Incomplete, Reachable, Stale, Delay, Probe, Failed, NoARP, Permanent, 3, 0x81})
	jiffies := rapid.Custom(func(t *rapid.T) vtime.Jiffies {
		return vtime.Jiffies(rapid.OneOf(rapid.Uint64Range(0, 5_000_000), rapid.Uint64()).Draw(t, "j"))
	})
	ip := rapid.Custom(func(t *rapid.T) netip.Addr {
		if rapid.Bool().Draw(t, "v6") {
			return netip.AddrFrom16([16]byte{0xfe, 0x80, 15: rapid.Byte().Draw(t, "b")})
		}
		return netip.AddrFrom4([4]byte{10, 0, 0, rapid.Byte().Draw(t, "b")})
	})
	return Decision{
		Rule:           Rule(rapid.IntRange(0, len(ruleInfo)-1).Draw(t, "rule")),
		Verdict:        rapid.SampledFrom([]string{"", VerdictHonoured, VerdictIgnored, VerdictCreated, VerdictDropped}).Draw(t, "verdict"),
		Profile:        rapid.SampledFrom([]string{"6.18", "rhel7.3", "4.9", ""}).Draw(t, "profile"),
		HZ:             rapid.SampledFrom([]int{100, 250, 1000}).Draw(t, "hz"),
		Dev:            "eth0",
		IP:             ip.Draw(t, "ip"),
		Now:            jiffies.Draw(t, "now"),
		Old:            state.Draw(t, "old"),
		New:            state.Draw(t, "new"),
		Requested:      state.Draw(t, "requested"),
		OldMAC:         mac("oldmac"),
		NewMAC:         mac("newmac"),
		HadMAC:         rapid.Bool().Draw(t, "hadmac"),
		MACChanged:     rapid.Bool().Draw(t, "macchanged"),
		UpdatedBefore:  jiffies.Draw(t, "updatedbefore"),
		Updated:        jiffies.Draw(t, "updated"),
		Confirmed:      jiffies.Draw(t, "confirmed"),
		Used:           jiffies.Draw(t, "used"),
		UpdatedMoved:   rapid.Bool().Draw(t, "updatedmoved"),
		ConfirmedMoved: rapid.Bool().Draw(t, "confirmedmoved"),
		Locktime:       vtime.Ticks(rapid.Int64Range(-5, 1<<40).Draw(t, "locktime")),
		Limit:          jiffies.Draw(t, "limit"),
		Probes:         rapid.IntRange(-3, 20).Draw(t, "probes"),
		MaxProbes:      rapid.IntRange(-3, 20).Draw(t, "maxprobes"),
		Count:          rapid.IntRange(-3, 5000).Draw(t, "count"),
		Flow:           rapid.SampledFrom([]string{"", "tcp 10.0.0.1:22", "udp %d"}).Draw(t, "flow"),
		ARPAccept:      rapid.IntRange(-1, 3).Draw(t, "arpaccept"),
		Frame:          rapid.Bool().Draw(t, "frame"),
		Op:             arp.Op(rapid.Uint16Range(0, 4).Draw(t, "op")),
		GARP:           garpWhy(rapid.IntRange(0, 7).Draw(t, "garp")),
		Override:       rapid.Bool().Draw(t, "override"),
		LocktimeOK:     rapid.Bool().Draw(t, "locktimeok"),
	}
}

// TestExplainAsFmt: Explain, which writes its commonest sentences
// without fmt, says word for word what the fmt version
// (explainfmt_test.go) says, for any decision.
func TestExplainAsFmt(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		d := genDecision(t)
		if got, want := d.Explain(), d.explainFmt(); got != want {
			t.Fatalf("rule %s:\n got %q\nwant %q", d.Rule.Name(), got, want)
		}
	})
}

// TestExplainAsFmtBusy: the same for every decision of a busy segment.
func TestExplainAsFmtBusy(t *testing.T) {
	for _, d := range busyDecisions(t) {
		if got, want := d.Explain(), d.explainFmt(); got != want {
			t.Fatalf("rule %s:\n got %q\nwant %q", d.Rule.Name(), got, want)
		}
	}
}
