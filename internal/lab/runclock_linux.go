package lab

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"arplab/internal/kclock"
	"arplab/internal/ktrace"
	"arplab/internal/labnet"
	"arplab/internal/neigh"
	"arplab/internal/wire/arp"
)

// calibration namespace: a host of its own whose only purpose is to make
// the kernel stamp `updated` with jiffies while the tracer watches.
var (
	calMAC  = arp.MAC{0x02, 0xca, 0x1b, 0, 0, 1}
	calAddr = netip.MustParsePrefix("192.0.2.1/24")
	calPeer = netip.MustParseAddr("192.0.2.2")
)

// calibrate makes the kernel stamp jiffies while the tracer watches: a
// burst of `ip neigh replace` on the calibration host, alternating the
// address so that every one is an effective update.
func (b *runner) calibrate(what string) ([]kclock.Sample, error) {
	if b.tracer == nil {
		return timerListSamples(b.opt.Calibration)
	}
	start := kclock.MonoNs(time.Now())
	for i := 0; ; i++ {
		mac := arp.MAC{0x02, 0xca, 0x1b, 0, 1, byte(i & 1)}
		err := b.cal.NeighSet(neigh.AdminReplace, labnet.NeighSpec{Dev: b.calIf, IP: calPeer, LLAddr: mac, HasLLAddr: true, State: neigh.Stale})
		if err != nil {
			return nil, fmt.Errorf("lab: calibration: %w", err)
		}
		if kclock.MonoNs(time.Now())-start > int64(b.opt.Calibration) && i >= 20 {
			break
		}
	}
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	if err := b.tracer.Sync(ctx); err != nil {
		return nil, fmt.Errorf("lab: calibration: %w", err)
	}
	var out []kclock.Sample
	var pre *ktrace.Event
	for _, ev := range b.tracer.Events() {
		if ev.Dev != b.calIf || ev.TimestampNs < start {
			continue
		}
		switch ev.Event {
		case "neigh_update":
			e := ev
			pre = &e
		case "neigh_update_done":
			if pre != nil && changed(pre, &ev) {
				out = append(out, kclock.Sample{Ns: ev.TimestampNs, J: ev.Updated})
			}
			pre = nil
		}
	}
	b.logf("calibration (%s): %d jiffies samples", what, len(out))
	if len(out) == 0 {
		return nil, fmt.Errorf("lab: calibration: the tracer saw no neigh_update_done on %s", b.calIf)
	}
	return out, nil
}

// timerListSamples reads jiffies from /proc/timer_list when there is no
// tracer: coarser (the read takes a while), but enough to place the grid.
func timerListSamples(d time.Duration) ([]kclock.Sample, error) {
	var out []kclock.Sample
	end := time.Now().Add(d)
	for time.Now().Before(end) || len(out) < 5 {
		j, at, err := kclock.ReadJiffies()
		if err != nil {
			return nil, err
		}
		out = append(out, kclock.Sample{Ns: kclock.MonoNs(at), J: j})
	}
	return out, nil
}
