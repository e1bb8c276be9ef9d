package report

import "arplab/internal/trace"

// Hand-built traces for the renderer tests. They retell "The Failure, part
// 3": tempest's entry for the floating IP is STALE with the old MAC, an SSH
// attempt moves it to DELAY (which bumps `updated`), the IP moves to a new
// MAC, three gratuitous ARP replies arrive one second apart and each lands
// inside the locktime window the previous one moved, a route-shared
// confirmation from another SSH session turns DELAY into REACHABLE with the
// old MAC, and the new SSH flow fails.

const (
	fip    = "10.0.0.100"
	oldMAC = "fa:16:3e:00:00:01"
	newMAC = "fa:16:3e:00:00:02"
	host   = "tempest"
)

// failureTrace returns the story as a single-source (simulator) trace.
func failureTrace() []trace.Event {
	return storyTrace("sim", false)
}

// verifyTrace returns the story as a verify trace: every entry event twice,
// once as the kernel saw it and once as the model predicted it, with the
// model honouring the third GARP where the kernel ignored it.
func verifyTrace() []trace.Event {
	return storyTrace("", true)
}

func storyTrace(source string, verify bool) []trace.Event {
	f := trace.F64
	no, yes := trace.Bool(false), trace.Bool(true)
	garp := func(t float64) *trace.ARPFrame {
		return &trace.ARPFrame{Op: "reply", SHA: newMAC, SIP: fip, THA: newMAC, TIP: fip,
			EthDst: "ff:ff:ff:ff:ff:ff", PktType: "broadcast", GARP: true}
	}
	entry := []trace.Event{
		{Time: 2, Kind: trace.KindState, Host: host, IP: fip, OldState: "STALE", State: "DELAY",
			OldLLAddr: oldMAC, LLAddr: oldMAC, Cause: "output", Rule: "§3.1",
			Explanation:   "a packet to 10.0.0.100 used the STALE entry, so it entered DELAY and moved updated",
			LocktimeUntil: f(3)},
		{Time: 4, Kind: trace.KindConfirm, Host: host, IP: fip, Flow: "ssh-3", Cause: "route-shared",
			Explanation: "TCP ACK on ssh-3 confirmed the shared dst, which confirms every entry behind it"},
		{Time: 7, Kind: trace.KindState, Host: host, IP: fip, OldState: "DELAY", State: "REACHABLE",
			OldLLAddr: oldMAC, LLAddr: oldMAC, Cause: "timer", Rule: "§3.2",
			Explanation:   "delay_first_probe_time expired with a confirmation 3 s old: REACHABLE without a probe",
			LocktimeUntil: f(8)},
		{Time: 9.5, Kind: trace.KindState, Host: host, IP: fip, OldState: "REACHABLE", State: "STALE",
			OldLLAddr: oldMAC, LLAddr: oldMAC, Cause: "timer", Rule: "§3.3", LocktimeUntil: f(10.5)},
		{Time: 10.2, Kind: trace.KindARP, Host: host, IP: fip, Verdict: trace.Ignored, ARP: garp(10.2),
			State: "STALE", LLAddr: oldMAC, Rule: "§2.2", Frame: 1, LocktimeUntil: f(11.2),
			Explanation: "arrived at 10.2 s, inside the locktime window until 10.5 s; updated moved to 10.2 s"},
		{Time: 11.2, Kind: trace.KindARP, Host: host, IP: fip, Verdict: trace.Ignored, ARP: garp(11.2),
			State: "STALE", LLAddr: oldMAC, Rule: "§2.2", Frame: 2, LocktimeUntil: f(12.2),
			Explanation: "arrived at 11.2 s, inside the locktime window until 11.2 s that the previous GARP moved"},
		{Time: 12.2, Kind: trace.KindARP, Host: host, IP: fip, Verdict: trace.Ignored, ARP: garp(12.2),
			State: "STALE", LLAddr: oldMAC, Rule: "§2.2", Frame: 3, LocktimeUntil: f(13.2),
			Explanation: "arrived at 12.2 s, inside the locktime window until 12.2 s that the previous GARP moved"},
		{Time: 12.6, Kind: trace.KindState, Host: host, IP: fip, OldState: "STALE", State: "DELAY",
			OldLLAddr: oldMAC, LLAddr: oldMAC, Cause: "output", Rule: "§3.1", LocktimeUntil: f(13.6)},
		{Time: 13, Kind: trace.KindConfirm, Host: host, IP: fip, Flow: "ssh-3", Cause: "route-shared"},
		{Time: 17.6, Kind: trace.KindState, Host: host, IP: fip, OldState: "DELAY", State: "REACHABLE",
			OldLLAddr: oldMAC, LLAddr: oldMAC, Cause: "timer", Rule: "§3.2", LocktimeUntil: f(18.6),
			Explanation: "confirmed by ssh-3's shared route: REACHABLE with the old MAC"},
		{Time: 18, Kind: trace.KindProbe, Host: host, IP: "10.0.0.1", Attrs: map[string]string{"to": "broadcast"}},
	}
	evs := []trace.Event{{Kind: trace.KindHeader, Source: source, Attrs: map[string]string{
		"scenario": "neutron-garp-locktime", "seed": "7", "profile": "rhel7-3.10", "hosts": "tempest,ctl-a,ctl-b"}}}
	if verify {
		evs[0].Attrs["source"] = "verify"
	}
	add := func(ev trace.Event) { evs = append(evs, ev) }
	add(trace.Event{Time: 10, Kind: trace.KindMove, Source: source, IP: fip, OldLLAddr: oldMAC, LLAddr: newMAC,
		Explanation: "keepalived moved 10.0.0.100 from ctl-a to ctl-b"})
	for _, t := range []float64{10.2, 11.2, 12.2} {
		add(trace.Event{Time: t, Kind: trace.KindSend, Source: source, Host: "ctl-b",
			ARP: &trace.ARPFrame{Op: "reply", SHA: newMAC, SIP: fip, THA: newMAC, TIP: fip, GARP: true}})
	}
	for _, ev := range entry {
		if !verify {
			ev.Source = source
			add(ev)
			continue
		}
		k, m := ev, ev
		k.Source, m.Source = "kernel", "model"
		if ev.Kind == trace.KindARP && ev.Time == 12.2 {
			// The model (wrongly) honours the third GARP.
			m.Verdict, m.State, m.LLAddr, m.OldLLAddr, m.OldState = trace.Honoured, "STALE", newMAC, oldMAC, "STALE"
			m.Explanation = "model: the window had closed at 12.2 s"
			k.Attrs = map[string]string{"disagree": "1"}
			m.Attrs = map[string]string{"disagree": "1"}
		}
		add(k)
		add(m)
	}
	for _, fl := range []trace.Event{
		{Time: 12.5, Kind: trace.KindFlow, Flow: "ssh-9", Cause: "syn"},
		{Time: 13.5, Kind: trace.KindFlow, Flow: "ssh-9", Cause: "syn-lost",
			Explanation: "SYN to 10.0.0.100 went to fa:16:3e:00:00:01, which no longer holds the IP"},
		{Time: 15.5, Kind: trace.KindFlow, Flow: "ssh-9", Cause: "syn-lost"},
		{Time: 20, Kind: trace.KindFlow, Flow: "ssh-9", Cause: "failed", OK: no,
			Explanation: "ssh-9 gave up after 7.5 s"},
		{Time: 3, Kind: trace.KindFlow, Flow: "ssh-3", Cause: "established", OK: yes},
	} {
		fl.Source = source
		add(fl)
	}
	add(trace.Event{Time: 40, Kind: trace.KindCheck, Source: source, OK: no,
		Explanation: "ssh to 10.0.0.100 within 30 s after the move"})
	add(trace.Event{Time: 40, Kind: trace.KindVerdict, Source: source, OK: no,
		Explanation: "tempest kept the old MAC for 10.0.0.100 for 30 s: three GARP replies each arrived inside the locktime window the previous one moved (§2.2)",
		Attrs:       map[string]string{"failed_flows": "1", "stale_seconds": "30"}})
	return evs
}
