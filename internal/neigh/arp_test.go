package neigh

import (
	"fmt"
	"strings"
	"testing"

	"arplab/internal/vtime"
	"arplab/internal/wire/arp"
)

// TestGARPClassificationTable is the table at the end of spec §4.4: a GARP
// for an existing entry, arriving inside locktime, is honoured only where a
// kernel recognises it as gratuitous.
func TestGARPClassificationTable(t *testing.T) {
	type row struct {
		profile string
		req0, req1, reply0, reply1/*honoured*/ bool
	}
	rows := []row{
		{"rhel7.3", false, false, false, false},
		{"3.10", false, false, false, false},
		{"3.14", false, true, false, false},
		{"4.4", false, true, false, false},
		{"4.9", false, true, false, false},
		{"4.11", false, true, false, false},
		{"4.12", true, true, true, true},
		{"4.19", true, true, true, true},
		{"6.18", true, true, true, true},
		{"rhel7.8", true, true, true, true},
	}
	for _, r := range rows {
		for _, c := range []struct {
			name   string
			accept string
			frame  func() arp.Packet
			want   bool
		}{
			{"Request/arp_accept=0", "0", func() arp.Packet { return garpRequest(ipF, macNew) }, r.req0},
			{"Request/arp_accept=1", "1", func() arp.Packet { return garpRequest(ipF, macNew) }, r.req1},
			{"Reply/arp_accept=0", "0", func() arp.Packet { return garpReply(ipF, macNew) }, r.reply0},
			{"Reply/arp_accept=1", "1", func() arp.Packet { return garpReply(ipF, macNew) }, r.reply1},
		} {
			t.Run(r.profile+"/"+c.name, func(t *testing.T) {
				h := newHarness(t, r.profile)
				if err := h.tb.SetConf("eth2", "arp_accept", c.accept); err != nil {
					t.Fatal(err)
				}
				h.seed(ipF, macOld, Stale)
				h.at(base + 10) // well inside locktime
				d := h.rx(c.frame(), PktBroadcast)
				got := d.Verdict == VerdictHonoured
				if got != c.want {
					t.Fatalf("verdict %s, want honoured=%v: %s", d.Verdict, c.want, d.Explain())
				}
				if c.want {
					h.want(ipF, Stale, macNew)
				} else {
					h.want(ipF, Stale, macOld)
				}
			})
		}
	}
}

// TestGARPOutsideLocktimeHonouredEverywhere: after locktime every kernel
// takes the new address from any ARP frame (spec §4.4 locktime_ok).
func TestGARPOutsideLocktimeHonouredEverywhere(t *testing.T) {
	for _, p := range []string{"rhel7.3", "3.14", "4.12", "6.18"} {
		t.Run(p, func(t *testing.T) {
			h := newHarness(t, p)
			h.seed(ipF, macOld, Stale)
			h.at(base + 1001)
			if d := h.rx(garpReply(ipF, macNew), PktBroadcast); d.Verdict != VerdictHonoured {
				t.Fatalf("got %s: %s", d.Verdict, d.Explain())
			}
		})
	}
}

// TestLocktimeBoundaryIsStrict: exactly locktime ticks after `updated` is
// still inside (time_after is strict, spec §10.4).
func TestLocktimeBoundaryIsStrict(t *testing.T) {
	h := newHarness(t, "rhel7.3")
	h.seed(ipF, macOld, Stale)
	h.at(base + 1000)
	d := h.rx(garpReply(ipF, macNew), PktBroadcast)
	if d.Verdict != VerdictIgnored {
		t.Fatalf("at exactly locktime: %s", d.Explain())
	}
	// 3.10 moved `updated` to base+1000, so +1001 is inside the new window…
	h.at(base + 2000)
	if d := h.rx(garpReply(ipF, macNew), PktBroadcast); d.Verdict != VerdictIgnored {
		t.Fatalf("1000 ticks after the ignored one: %s", d.Explain())
	}
	h.at(base + 3001)
	if d := h.rx(garpReply(ipF, macNew), PktBroadcast); d.Verdict != VerdictHonoured {
		t.Fatalf("1001 ticks after: %s", d.Explain())
	}
}

// TestMovingLocktimeWindowOn310 is the seed's mechanism (b): three GARP
// replies exactly 1 s apart at HZ=1000, the first inside the window opened
// by STALE→DELAY, are all ignored because each ignored update moves
// `updated`. With 77d7123342dc alone the second one is honoured.
func TestMovingLocktimeWindowOn310(t *testing.T) {
	for _, c := range []struct {
		profile string
		edits   []string
		want    []string
	}{
		{"rhel7.3", nil, []string{VerdictIgnored, VerdictIgnored, VerdictIgnored}},
		{"rhel7.3", []string{"+timestamps-on-change"}, []string{VerdictIgnored, VerdictHonoured, VerdictIgnored}},
	} {
		t.Run(c.profile+strings.Join(c.edits, ""), func(t *testing.T) {
			h := newHarness(t, c.profile, c.edits...)
			h.seed(ipF, macOld, Stale)
			h.at(base + 50_000)
			h.send(ipF, nil) // SYN: STALE→DELAY, updated = 50 s
			h.want(ipF, Delay, macOld)
			var got []string
			for i := 0; i < 3; i++ {
				h.at(base + 50_000 + 50 + vtime.Jiffies(i*1000))
				d := h.rx(garpReply(ipF, macNew), PktBroadcast)
				got = append(got, d.Verdict)
				if i == 0 && c.edits == nil {
					want := "GARP reply not recognised as gratuitous on rhel7.3 (replies never are); ignored: 50 ticks since updated=1050000, locktime needs > 1000 (HZ=1000); updated moved to 1050050 (rhel7.3 bumps it even on ignored updates)"
					if d.Explain() != want {
						t.Errorf("explanation:\n got %s\nwant %s", d.Explain(), want)
					}
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Fatalf("verdicts %v, want %v", got, c.want)
			}
		})
	}
}

// TestGARPReplyIgnoredRequestHonouredOn314WithARPAccept is the seed's
// first finding: the 3.14 patch helps requests only.
func TestGARPReplyIgnoredRequestHonouredOn314WithARPAccept(t *testing.T) {
	for _, c := range []struct {
		profile string
		frame   arp.Packet
		want    string
	}{
		{"3.14", garpReply(ipF, macNew), VerdictIgnored},
		{"3.14", garpRequest(ipF, macNew), VerdictHonoured},
		{"4.12", garpReply(ipF, macNew), VerdictHonoured},
		{"4.12", garpRequest(ipF, macNew), VerdictHonoured},
	} {
		t.Run(c.profile+"/"+c.frame.Op.String(), func(t *testing.T) {
			h := newHarness(t, c.profile)
			h.tb.SetConf("eth2", "arp_accept", "1")
			h.seed(ipF, macOld, Stale)
			h.at(base + 100)
			if d := h.rx(c.frame, PktBroadcast); d.Verdict != c.want {
				t.Fatalf("got %s want %s: %s", d.Verdict, c.want, d.Explain())
			}
		})
	}
}

// TestBroadcastTHAReplyIsNotGARP: MetalLB/Cilium replies (tha = ff…ff) are
// ordinary replies on every kernel (spec §12.3, field-notes §G case C).
func TestBroadcastTHAReplyIsNotGARP(t *testing.T) {
	h := newHarness(t, "6.18")
	h.seed(ipF, macOld, Reachable)
	h.at(base + 200)
	p := arp.NewPacket(arp.OpReply, macNew, ipF, arp.Broadcast, ipF)
	d := h.rx(p, PktBroadcast)
	if d.Verdict != VerdictIgnored || !strings.Contains(d.Explain(), "tha ≠ sha") {
		t.Fatalf("%s: %s", d.Verdict, d.Explain())
	}
	h.at(base + 1500)
	if d := h.rx(p, PktBroadcast); d.Verdict != VerdictHonoured {
		t.Fatalf("after locktime: %s", d.Explain())
	}
}

// TestDropGratuitousARP drops every sip == tip frame on kernels that have
// the sysctl, and the sysctl does not exist before 4.6.
func TestDropGratuitousARP(t *testing.T) {
	h := newHarness(t, "6.18")
	if err := h.tb.SetConf("eth2", "drop_gratuitous_arp", "1"); err != nil {
		t.Fatal(err)
	}
	h.seed(ipF, macOld, Stale)
	h.at(base + 5000)
	if d := h.rx(garpRequest(ipF, macNew), PktBroadcast); d.Verdict != VerdictDropped || d.Rule != RuleDropGratuitous {
		t.Fatalf("%v %s", d.Rule.Name(), d.Verdict)
	}
	h.want(ipF, Stale, macOld)
	h2 := newHarness(t, "4.4")
	if err := h2.tb.SetConf("eth2", "drop_gratuitous_arp", "1"); err == nil {
		t.Fatal("4.4 accepted drop_gratuitous_arp")
	}
}

// TestRequestForUsOverridesInsideLocktime: a request for our address sets
// the requester's entry with OVERRIDE, no locktime test (spec §4.3).
func TestRequestForUsOverridesInsideLocktime(t *testing.T) {
	h := newHarness(t, "rhel7.3")
	h.seed(ipF, macOld, Reachable)
	h.at(base + 5)
	d := h.rx(arp.NewPacket(arp.OpRequest, macNew, ipF, arp.Zero, ipSelf), PktBroadcast)
	if d.Verdict != VerdictHonoured {
		t.Fatalf("%s", d.Explain())
	}
	h.want(ipF, Stale, macNew)
	var replies int
	for _, a := range h.act {
		if a.Kind == ActReply && a.DstMAC == macNew && a.Src == ipSelf {
			replies++
		}
	}
	if replies != 1 {
		t.Fatalf("replies sent = %d, want 1", replies)
	}
	// And it creates an entry when there is none, arp_accept=0.
	d = h.rx(arp.NewPacket(arp.OpRequest, macNew, ipOther, arp.Zero, ipSelf), PktBroadcast)
	if d.Verdict != VerdictCreated {
		t.Fatalf("%s", d.Explain())
	}
	h.want(ipOther, Stale, macNew)
}

// TestRequestForOtherHostNeverCreates: arp_accept=0 never creates, and a
// request for another IP is subject to locktime (spec §12.3).
func TestRequestForOtherHostNeverCreates(t *testing.T) {
	h := newHarness(t, "6.18")
	d := h.rx(arp.NewPacket(arp.OpRequest, macNew, ipF, arp.Zero, ipOther), PktBroadcast)
	if d.Verdict != VerdictDropped || d.Rule != RuleNoEntry {
		t.Fatalf("%v %s", d.Rule.Name(), d.Verdict)
	}
}

// TestARPAcceptCreation covers arp_accept 0/1/2 creation (spec §4.4 a–d).
func TestARPAcceptCreation(t *testing.T) {
	outside := netIP("10.9.9.9")
	for _, c := range []struct {
		profile, accept string
		sip             string
		want            string
	}{
		{"rhel7.3", "0", "172.24.4.10", VerdictDropped},
		{"rhel7.3", "1", "172.24.4.10", VerdictCreated},
		{"6.18", "1", "10.9.9.9", VerdictCreated},
		{"6.18", "2", "10.9.9.9", VerdictDropped},
		{"6.18", "2", "172.24.4.10", VerdictCreated},
	} {
		t.Run(c.profile+"/"+c.accept+"/"+c.sip, func(t *testing.T) {
			h := newHarness(t, c.profile)
			if err := h.tb.SetConf("eth2", "arp_accept", c.accept); err != nil {
				t.Fatal(err)
			}
			ip := netIP(c.sip)
			d := h.rx(garpReply(ip, macNew), PktBroadcast)
			if d.Verdict != c.want {
				t.Fatalf("%s: %s", d.Verdict, d.Explain())
			}
			if c.want == VerdictCreated {
				h.want(ip, Stale, macNew)
			}
		})
	}
	_ = outside
}

// TestUnicastReplyToUsIsReachable: only a reply delivered to our MAC
// (PACKET_HOST) asserts reachability (spec §4.4).
func TestUnicastReplyToUsIsReachable(t *testing.T) {
	h := newHarness(t, "6.18")
	h.send(ipF, nil) // NONE→INCOMPLETE
	h.want(ipF, Incomplete, arp.MAC{})
	rep := arp.NewPacket(arp.OpReply, macNew, ipF, macSelf, ipSelf)
	h.at(base + 3)
	if d := h.rx(rep, PktHost); d.Verdict != VerdictHonoured {
		t.Fatalf("%s", d.Explain())
	}
	h.want(ipF, Reachable, macNew)
	// The queued packet went out to the new MAC.
	var tx int
	for _, a := range h.act {
		if a.Kind == ActTransmit && a.DstMAC == macNew {
			tx++
		}
	}
	if tx != 1 {
		t.Fatalf("transmitted %d queued packets, want 1", tx)
	}
	// The same reply delivered as broadcast only asserts STALE; the queued
	// packet it releases then uses the entry: STALE→DELAY (divergences D1).
	h2 := newHarness(t, "6.18")
	h2.send(ipF, nil)
	if d := h2.rx(rep, PktBroadcast); d.New != Stale {
		t.Fatalf("broadcast reply made it %v, want STALE", d.New)
	}
	h2.want(ipF, Delay, macNew)
	if e := h2.entry(ipF); e.Used != h2.now || e.Updated != h2.now {
		t.Fatalf("released packet did not stamp used/updated: %+v", e)
	}
}

// TestFrameLevelDrops: frames that never reach the table update (spec
// §4.1–§4.3), each with its rule.
func TestFrameLevelDrops(t *testing.T) {
	for _, c := range []struct {
		name  string
		frame arp.Packet
		pt    PktType
		rule  Rule
	}{
		{"OtherHost", garpRequest(ipF, macNew), PktOtherHost, RuleDropOtherHost},
		{"BadOpcode", arp.Packet{HardwareType: 1, ProtocolType: 0x800, Op: 3, SHA: macNew, SIP: ipF, TIP: ipSelf}, PktBroadcast, RuleDropOpcode},
		{"TargetMulticast", arp.NewPacket(arp.OpRequest, macNew, ipF, arp.Zero, netIP("224.0.0.1")), PktBroadcast, RuleDropTargetMulticast},
		{"TargetLoopback", arp.NewPacket(arp.OpRequest, macNew, ipF, arp.Zero, netIP("127.0.0.1")), PktBroadcast, RuleDropTargetLoopback},
		{"DADForUs", arp.NewPacket(arp.OpRequest, macNew, netIP("0.0.0.0"), arp.Zero, ipSelf), PktBroadcast, RuleDADReplied},
		{"DADForOther", arp.NewPacket(arp.OpRequest, macNew, netIP("0.0.0.0"), arp.Zero, ipOther), PktBroadcast, RuleDADIgnored},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, "6.18")
			h.tb.SetConf("eth2", "arp_accept", "1")
			d := h.rx(c.frame, c.pt)
			if d.Rule != c.rule || d.Verdict != VerdictDropped {
				t.Fatalf("rule %s verdict %s, want %s dropped", d.Rule.Name(), d.Verdict, c.rule.Name())
			}
			if h.tb.Len() != 0 {
				t.Fatalf("a dropped frame created %d entries", h.tb.Len())
			}
			replied := false
			for _, a := range h.act {
				replied = replied || a.Kind == ActReply
			}
			if replied != (c.rule == RuleDADReplied) {
				t.Fatalf("replied=%v", replied)
			}
		})
	}
}

// TestARPIgnore: arp_ignore decides whether a request for one of our
// addresses is answered — and an unanswered one updates nothing (§4.3, §8.2).
func TestARPIgnore(t *testing.T) {
	for _, c := range []struct {
		value  string
		sip    string
		answer bool
	}{{"0", "172.24.4.10", true}, {"2", "172.24.4.10", true}, {"2", "10.9.9.9", false}, {"8", "172.24.4.10", false}} {
		h := newHarness(t, "6.18")
		h.tb.SetConf("eth2", "arp_ignore", c.value)
		d := h.rx(arp.NewPacket(arp.OpRequest, macNew, netIP(c.sip), arp.Zero, ipSelf), PktBroadcast)
		if got := d.Rule == RuleRequestForUs; got != c.answer {
			t.Errorf("arp_ignore=%s from %s: answered=%v (%s)", c.value, c.sip, got, d.Rule.Name())
		}
		if !c.answer && h.tb.Len() != 0 {
			t.Errorf("arp_ignore=%s: an ignored request created an entry", c.value)
		}
	}
}
