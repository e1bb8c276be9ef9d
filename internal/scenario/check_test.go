package scenario

import (
	"testing"

	"arplab/internal/neigh"
	"arplab/internal/wire/arp"
)

func TestCheckJudge(t *testing.T) {
	a := arp.MAC{2, 0, 0, 0, 0, 0xa}
	b := arp.MAC{2, 0, 0, 0, 0, 0xb}
	for _, tc := range []struct {
		name    string
		c       Check
		present bool
		state   neigh.State
		ll      arp.MAC
		got     string
		ok      bool
	}{
		{"state matches", Check{State: "stale"}, true, neigh.Stale, a, "STALE 02:00:00:00:00:0a", true},
		{"state differs", Check{State: "REACHABLE"}, true, neigh.Stale, a, "STALE 02:00:00:00:00:0a", false},
		{"lladdr matches", Check{State: "STALE", LLAddr: &MAC{a}}, true, neigh.Stale, a, "STALE 02:00:00:00:00:0a", true},
		{"lladdr differs", Check{LLAddr: &MAC{b}}, true, neigh.Stale, a, "STALE 02:00:00:00:00:0a", false},
		{"invalid entry has no lladdr", Check{LLAddr: &MAC{a}}, true, neigh.Failed, a, "FAILED", false},
		{"NONE matches a missing entry", Check{State: "NONE"}, false, 0, arp.MAC{}, NoEntry, true},
		{"NONE with an lladdr never holds when missing", Check{State: "none", LLAddr: &MAC{a}}, false, 0, arp.MAC{}, NoEntry, false},
		{"a state wants an entry", Check{State: "STALE"}, false, 0, arp.MAC{}, NoEntry, false},
		{"no state wants an entry", Check{}, false, 0, arp.MAC{}, NoEntry, false},
		{"no state, entry there", Check{}, true, neigh.Incomplete, arp.MAC{}, "INCOMPLETE", true},
	} {
		got, ok := tc.c.Judge(tc.present, tc.state, tc.ll)
		if got != tc.got || ok != tc.ok {
			t.Errorf("%s: Judge = %q, %v; want %q, %v", tc.name, got, ok, tc.got, tc.ok)
		}
	}
}
