package replay

import (
	"net/netip"

	"arplab/internal/vtime"
	"arplab/internal/wire/arp"
)

// ProbeMismatch is a probe the model predicted that the host did not send
// ("missing"), or one the host sent that the model did not predict
// ("unexpected").
type ProbeMismatch struct {
	Kind string     `json:"kind"` // "missing" or "unexpected"
	IP   netip.Addr `json:"ip"`
	// Time is the probe's capture time in seconds.
	Time float64 `json:"time"`
	// Unicast says whether the probe was unicast; MAC is its destination
	// (empty for broadcast, and for an observed probe whose capture has no
	// destination address, KindKnown false).
	Unicast   bool   `json:"unicast"`
	KindKnown bool   `json:"kind_known"`
	MAC       string `json:"mac,omitempty"`
	// Probe is the predicted probe's number in its resolution (missing);
	// Frame the observed request's record number (unexpected).
	Probe int `json:"probe,omitempty"`
	Frame int `json:"frame,omitempty"`
}

// maxMismatches bounds Summary.ProbeMismatches; the counters stay exact.
const maxMismatches = 1000

// probe is a predicted or an observed ARP solicitation.
type probe struct {
	ip      netip.Addr
	at      vtime.Jiffies
	ns      int64 // capture time
	unicast bool
	known   bool // the kind (unicast/broadcast and MAC) is known
	mac     arp.MAC
	n       int // predicted: probe number
	frame   int // observed: record number
}

// matcher pairs predicted probes with observed ones. Both lists are in time
// order and short: an item leaves as soon as it is matched, or once the
// tolerance has passed (deadline), when it becomes a mismatch.
type matcher struct {
	tol       vtime.Jiffies
	pred, obs []probe
	// offsetNs sums how far apart in capture time matched pairs were.
	offsetNs int64
}

func (m *matcher) matched(p, o *probe) {
	if d := p.ns - o.ns; d < 0 {
		m.offsetNs -= d
	} else {
		m.offsetNs += d
	}
}

// compatible reports whether observation o can be the host sending
// prediction p.
func (m *matcher) compatible(p, o *probe) bool {
	if p.ip != o.ip || absDiff(p.at, o.at) > m.tol {
		return false
	}
	if !o.known {
		return true
	}
	return p.unicast == o.unicast && (!p.unicast || p.mac == o.mac)
}

func absDiff(a, b vtime.Jiffies) vtime.Jiffies {
	if d := vtime.Since(a, b); d < 0 {
		return vtime.Jiffies(-d)
	}
	return a - b
}

// predict adds a prediction, matching the earliest compatible observation.
func (m *matcher) predict(p probe) bool {
	for i := range m.obs {
		if m.compatible(&p, &m.obs[i]) {
			m.matched(&p, &m.obs[i])
			m.obs = append(m.obs[:i], m.obs[i+1:]...)
			return true
		}
	}
	m.pred = append(m.pred, p)
	return false
}

// observe adds an observation, matching the earliest compatible prediction.
func (m *matcher) observe(o probe) bool {
	for i := range m.pred {
		if m.compatible(&m.pred[i], &o) {
			m.matched(&m.pred[i], &o)
			m.pred = append(m.pred[:i], m.pred[i+1:]...)
			return true
		}
	}
	m.obs = append(m.obs, o)
	return false
}

// deadline is the first tick at which a pending item can no longer be
// matched.
func (m *matcher) deadline() (vtime.Jiffies, bool) {
	var d vtime.Jiffies
	ok := false
	if len(m.pred) > 0 {
		d, ok = m.pred[0].at+m.tol+1, true
	}
	if len(m.obs) > 0 {
		if o := m.obs[0].at + m.tol + 1; !ok || vtime.Before(o, d) {
			d, ok = o, true
		}
	}
	return d, ok
}

// expire removes every item whose tolerance ended before tick now and
// reports each through missing or unexpected.
func (m *matcher) expire(now vtime.Jiffies, missing, unexpected func(*probe)) {
	for len(m.pred) > 0 && vtime.Before(m.pred[0].at+m.tol, now) {
		p := m.pred[0]
		m.pred = m.pred[1:]
		missing(&p)
	}
	for len(m.obs) > 0 && vtime.Before(m.obs[0].at+m.tol, now) {
		o := m.obs[0]
		m.obs = m.obs[1:]
		unexpected(&o)
	}
}
