package neigh

import (
	"fmt"
	"net/netip"

	"arplab/internal/vtime"
	"arplab/internal/wire/arp"
)

// AdminOp is an `ip neigh` command.
type AdminOp uint8

// Admin operations (spec §5, end).
const (
	AdminAdd     AdminOp = iota // ip neigh add: create only (EEXIST otherwise), ADMIN
	AdminChange                 // ip neigh change: existing only, ADMIN|OVERRIDE
	AdminReplace                // ip neigh replace: create or override, ADMIN|OVERRIDE
	AdminDel                    // ip neigh del: → FAILED with ADMIN|OVERRIDE, then unlinked
	AdminFlush                  // ip neigh flush dev D: del for every dynamic entry
)

func (o AdminOp) String() string {
	return [...]string{"add", "change", "replace", "del", "flush"}[o]
}

// ParseAdminOp parses "add", "change", "replace", "del"/"delete", "flush".
func ParseAdminOp(s string) (AdminOp, error) {
	switch s {
	case "add":
		return AdminAdd, nil
	case "change", "chg":
		return AdminChange, nil
	case "replace":
		return AdminReplace, nil
	case "del", "delete":
		return AdminDel, nil
	case "flush":
		return AdminFlush, nil
	}
	return 0, fmt.Errorf("unknown ip neigh command %q (want add, change, replace, del or flush)", s)
}

// Admin runs an `ip neigh` command. lladdr may be nil (del, flush, or a
// state-only change).
func (t *Table) Admin(now vtime.Jiffies, dev *Device, op AdminOp, ip netip.Addr, lladdr *arp.MAC, state State) (*Result, error) {
	r := t.begin(now)
	if op == AdminFlush {
		var es []*Entry
		t.each(func(e *Entry) {
			if e.dev == dev && e.state != Permanent && e.state != NoARP {
				es = append(es, e)
			}
		})
		sortEntries(es)
		for _, e := range es {
			t.adminDelete(now, e)
		}
		return r, nil
	}
	if ip.Is4() != (t.Family == IPv4) || !ip.IsValid() {
		return r, fmt.Errorf("ip neigh %s %v dev %s: address is not %s", op, ip, dev.Name, t.Family)
	}
	e := t.get(dev, ip)
	switch op {
	case AdminAdd:
		if e != nil {
			return r, fmt.Errorf("ip neigh add %v dev %s: entry exists (RTNETLINK answers: File exists)", ip, dev.Name)
		}
	case AdminChange, AdminDel:
		if e == nil {
			return r, fmt.Errorf("ip neigh %s %v dev %s: no such entry", op, ip, dev.Name)
		}
	}
	if op == AdminDel {
		t.adminDelete(now, e)
		return r, nil
	}
	created := false
	if e == nil {
		if e = t.create(now, dev, ip); e == nil {
			return r, fmt.Errorf("ip neigh %s %v dev %s: neighbour table overflow", op, ip, dev.Name)
		}
		created = true
	}
	flags := Admin | Override
	if op == AdminAdd {
		flags = Admin
	}
	d := t.stateDecision(now, e, RuleAdmin)
	d.Requested = state
	out := t.update(now, e, lladdr, state, flags)
	if out.rejected {
		if created {
			t.remove(e)
		}
		return r, fmt.Errorf("ip neigh %s %v dev %s: invalid argument (no lladdr for state %v)", op, ip, dev.Name, state)
	}
	d.MACChanged = out.macChanged
	d.Verdict = VerdictHonoured
	if created {
		d.Verdict = VerdictCreated
	}
	t.finish(&d, e)
	if out.release {
		t.releaseQueue(now, e)
	}
	return r, nil
}

// adminDelete is neigh_delete: an ADMIN|OVERRIDE update to FAILED; with
// the delete-unlinks patch the entry is then removed at once, before it a
// FAILED entry stays for GC (docs/divergences.md).
func (t *Table) adminDelete(now vtime.Jiffies, e *Entry) {
	d := t.stateDecision(now, e, RuleAdminDelete)
	t.update(now, e, nil, Failed, Admin|Override)
	d.New = e.state
	if t.F.DeleteUnlinks {
		d.New = None
	}
	d.Updated = e.updated
	d.Verdict = VerdictHonoured
	t.decide(&d)
	if t.F.DeleteUnlinks {
		t.remove(e)
	}
}
