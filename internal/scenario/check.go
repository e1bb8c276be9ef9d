package scenario

import (
	"strings"

	"arplab/internal/neigh"
	"arplab/internal/wire/arp"
)

// NoEntry is what a table read shows for an entry that is not there.
const NoEntry = "no entry"

// Judge evaluates an entry check against what a table read showed of the
// entry (present false: the table had none), the same way for every
// producer (the simulator, the lab). got is the entry as a check reports it
// ("STALE 02:00:00:00:00:0a", "FAILED", "no entry"); ok is whether the
// check holds: the state matches (NONE matches a missing entry) and, if the
// check names an lladdr, the entry is valid with that address. A check
// that names neither holds when the entry exists.
func (c *Check) Judge(present bool, state neigh.State, ll arp.MAC) (got string, ok bool) {
	if !present {
		return NoEntry, c.LLAddr == nil && strings.EqualFold(c.State, neigh.None.String())
	}
	got = state.String()
	if state.Valid() {
		got += " " + ll.String()
	}
	ok = c.State == "" || strings.EqualFold(c.State, state.String())
	if c.LLAddr != nil {
		ok = ok && state.Valid() && ll == c.LLAddr.MAC
	}
	return got, ok
}
