package watch

import (
	"time"

	"arplab/internal/wire/arp"
)

// The watcher's "dead MAC" logic: an entry points at a dead MAC when
//
//   - a frame announcing its IP at another MAC (sip == tip) was ignored or
//     dropped while the entry kept the old one (DeadSuperseded: the
//     failover failure of spec §10, seen live), or
//   - this host sent a unicast probe to the entry's MAC (§2.2, PROBE) and
//     no ARP frame from that IP and MAC came back within probeWait
//     (DeadUnanswered).
//
// It stops when the entry changes lladdr, becomes invalid (FAILED,
// INCOMPLETE) or is deleted, and an unanswered MAC is forgiven when it
// speaks again. Decisions use event times, in emission order.

// markDead records that k points at a dead mac since since (reported at
// at); an entry already dead for the same MAC keeps its first reason.
func (c *correlator) markDead(k key, mac string, reason DeadReason, since, at time.Time) {
	if d, ok := c.dead[k]; ok && d.mac == mac {
		return
	}
	c.dead[k] = deadEntry{mac: mac, reason: reason, since: since}
	c.ob.Dead(DeadChange{At: at, Since: since, Dev: k.dev, IP: k.ip, MAC: mac, Reason: reason, Dead: true})
}

// clearDead ends k's dead spell at at.
func (c *correlator) clearDead(k key, at time.Time) {
	d, ok := c.dead[k]
	if !ok {
		return
	}
	delete(c.dead, k)
	c.ob.Dead(DeadChange{At: at, Since: d.since, Dev: k.dev, IP: k.ip, MAC: d.mac, Reason: d.reason})
}

// answered notes a frame from (k.ip, mac): a probe to mac is answered and
// an unanswered spell for mac ends.
func (c *correlator) answered(k key, mac arp.MAC, at time.Time) {
	if p, ok := c.pending[k]; ok && p.mac == mac {
		delete(c.pending, k)
	}
	if d, ok := c.dead[k]; ok && d.reason == DeadUnanswered && d.mac == mac.String() {
		c.clearDead(k, at)
	}
}

// expireProbes turns probes unanswered for probeWait before now into dead
// spells, when the entry still points at the probed MAC.
func (c *correlator) expireProbes(now time.Time) {
	for k, p := range c.pending {
		if now.Sub(p.at) < probeWait {
			continue
		}
		delete(c.pending, k)
		if e, ok := c.mirror[k]; ok && valid(e.state) && e.lladdr == p.mac.String() {
			c.markDead(k, e.lladdr, DeadUnanswered, p.at, p.at.Add(probeWait))
		}
	}
}

// tracepointRule names why the kernel ignored a traced update: the entry
// is PERMANENT/NOARP, or a different lladdr came without OVERRIDE (the
// locktime test; the frame, when seen, refines it to not-gratuitous).
func tracepointRule(t *tracepoint) Rule {
	if t.state == "PERMANENT" || t.state == "NOARP" {
		return RulePermanent
	}
	return RuleLocktime
}
