package lab

import (
	"context"
	"fmt"
	"net/netip"
	"sort"
	"time"

	"arplab/internal/garp"
	"arplab/internal/kclock"
	"arplab/internal/labnet"
	"arplab/internal/neigh"
	"arplab/internal/scenario"
	"arplab/internal/wire/arp"
	"arplab/internal/wire/ether"
)

// action is one timed step of the script.
type action struct {
	at    int64 // ns after the epoch
	seq   int
	event int // script index, -1 for checks and set-up
	check int // check index, -1 if none
	what  string
	fn    func() // nil for a pure snapshot
}

// script runs the timeline: initial entries at t = 0, script events and
// checks at their times, a snapshot after each, until the duration ends.
func (b *runner) script() error {
	var acts []action
	add := func(a action) {
		a.seq = len(acts)
		acts = append(acts, a)
	}
	for hi := range b.s.Hosts {
		hc := &b.s.Hosts[hi]
		if len(hc.Interfaces) == 0 {
			continue
		}
		dev0 := hc.Interfaces[0].Name
		// Unrelated entries (as the simulator makes them).
		if hc.Entries > 0 {
			name := hc.Name
			n := hc.Entries
			add(action{at: 0, event: -1, check: -1, what: fmt.Sprintf("%d unrelated entries on %s", n, name), fn: func() {
				for i := 0; i < n; i++ {
					ip := netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)})
					mac := arp.MAC{0x02, 0xee, 0, 0, byte(i >> 8), byte(i)}
					b.admin(name, scenario.NeighCommand{Op: neigh.AdminReplace, IP: ip, LLAddr: &mac, State: neigh.Stale, Dev: dev0}, -1)
				}
			}})
		}
		for _, n := range hc.Neighbours {
			name := hc.Name
			mac := n.LLAddr.MAC
			c := scenario.NeighCommand{Op: neigh.AdminReplace, IP: n.IP.Addr, LLAddr: &mac, Dev: n.Dev}
			st, err := neigh.ParseState(n.State)
			if err != nil {
				return fmt.Errorf("%s: host %s neighbour %v: %w", b.s.File, hc.Name, n.IP, err)
			}
			c.State = st
			add(action{at: 0, event: -1, check: -1, what: "neighbour " + n.IP.String(), fn: func() { b.admin(name, c, -1) }})
		}
	}
	for i := range b.s.Script {
		e := &b.s.Script[i]
		at := int64(e.At.D)
		idx := i
		switch {
		case e.Move != nil:
			m := e.Move
			add(action{at: at, event: i, check: -1, what: fmt.Sprintf("move %v to %s", m.IP, m.To), fn: func() { b.move(m.IP.Addr, m.To) }})
		case e.GARP != nil && !e.GARP.IP.Is6():
			g := e.GARP
			st := b.stations[g.From]
			frames, err := garp.Schedule(g.PresetName(), st.cfg.MAC.MAC, g.IP.Addr, g.Options())
			if err != nil {
				return fmt.Errorf("%s:%d: garp: %w", b.s.File, e.Line, err)
			}
			for k, f := range frames {
				fr, kk := f, k
				add(action{at: at + int64(f.At), event: i, check: -1,
					what: fmt.Sprintf("garp %s #%d from %s", g.PresetName(), k+1, g.From),
					fn:   func() { b.sendGARP(st, fr, idx, kk, g.PresetName()) }})
			}
		case e.NS != nil:
			st := b.stations[e.NS.From]
			frame, err := b.nsFrame(e.NS, st)
			if err != nil {
				return fmt.Errorf("%s:%d: ns: %w", b.s.File, e.Line, err)
			}
			add(action{at: at, event: i, check: -1, what: fmt.Sprintf("ns for %v from %s", e.NS.Target, e.NS.From),
				fn: func() { b.sendFrame(st, frame, idx, 0, "ns") }})
		case e.GARP != nil && e.GARP.IP.Is6():
			// IPv6: the sender's unsolicited NAs (ndisc §10.1).
			g := e.GARP
			st := b.stations[g.From]
			frames, err := garp.NASchedule(g.PresetName(), st.cfg.MAC.MAC, g.IP.Addr, g.Options())
			if err != nil {
				return fmt.Errorf("%s:%d: garp: %w", b.s.File, e.Line, err)
			}
			for k, f := range frames {
				frame, kk := f.Append(nil, st.cfg.MAC.MAC), k
				add(action{at: at + int64(f.At), event: i, check: -1,
					what: fmt.Sprintf("garp %s NA #%d from %s", g.PresetName(), k+1, g.From),
					fn:   func() { b.sendFrame(st, frame, idx, kk, g.PresetName()) }})
			}
		case e.Reply != nil:
			r := e.Reply
			st := b.stations[r.From]
			fr, err := b.s.ReplyFrame(r)
			if err != nil {
				return fmt.Errorf("%s:%d: %w", b.s.File, e.Line, err)
			}
			add(action{at: at, event: i, check: -1, what: fmt.Sprintf("reply %v from %s to %s", r.IP, r.From, r.To),
				fn: func() { b.sendGARP(st, fr, idx, 0, "reply") }})
		case e.Flow != nil:
			f := e.Flow
			add(action{at: at, event: i, check: -1, what: "flow " + f.Name, fn: func() { b.startFlow(f, idx) }})
		case e.Neigh != nil:
			n := e.Neigh
			add(action{at: at, event: i, check: -1, what: "ip neigh " + n.Cmd, fn: func() { b.adminText(n.Host, n.Cmd, idx) }})
		case e.Sysctl != nil:
			sc := e.Sysctl
			add(action{at: at, event: i, check: -1, what: "sysctl " + sc.Key + "=" + sc.Value, fn: func() {
				if rec := b.writeSysctl(sc.Host, sc.Key, sc.Value, idx); rec.Err != "" {
					b.note("script line %d: sysctl %s: %s", e.Line, sc.Key, rec.Err)
				}
			}})
		}
	}
	for ci := range b.s.Checks {
		c := &b.s.Checks[ci]
		if c.Flow != "" {
			continue
		}
		add(action{at: int64(c.At.D), event: -1, check: ci, what: fmt.Sprintf("check %d", ci)})
	}
	// Events before checks at the same time: a check sees what happened
	// at its instant.
	sort.SliceStable(acts, func(i, j int) bool {
		if acts[i].at != acts[j].at {
			return acts[i].at < acts[j].at
		}
		return acts[i].check < 0 && acts[j].check >= 0
	})

	// Periodic-work watcher.
	if b.opt.PollPeriodic > 0 {
		b.wg.Add(1)
		go b.watchPeriodic()
	}
	epoch := kclock.MonoNs(time.Now()) + int64(20*time.Millisecond)
	b.run.EpochNs = epoch
	b.logf("epoch: t=0 at mono %d", epoch)
	for _, a := range acts {
		if !sleepUntil(b.ctxDone(), epoch+a.at) {
			return b.ctx.Err()
		}
		if a.fn != nil {
			a.fn()
		}
		reason := a.what
		if a.check < 0 && a.event >= 0 {
			reason = fmt.Sprintf("step %d (%s)", a.event, a.what)
		}
		b.snapshot(reason, a.check, a.event, a.at)
		b.logf("%8.4fs %s", float64(kclock.MonoNs(time.Now())-epoch)/1e9, a.what)
	}
	end := epoch + int64(b.s.Duration.D)
	if !sleepUntil(b.ctxDone(), end) {
		return b.ctx.Err()
	}
	b.run.EndNs = end
	b.snapshot("end", -1, -1, int64(b.s.Duration.D))
	close(b.stop)
	b.wg.Wait()
	return nil
}

func (b *runner) ctxDone() <-chan struct{} { return b.ctx.Done() }

// snapshot reads every observed host's table; sched is when the script
// meant the read (ns after t = 0).
func (b *runner) snapshot(reason string, check, event int, sched int64) {
	for _, name := range b.observed {
		h := b.hosts[name]
		sn := RunSnapshot{Host: name, Reason: reason, Check: check, Event: event, SchedNs: sched, BeforeNs: kclock.MonoNs(time.Now())}
		for dev, ifname := range b.devs[name] {
			ns, err := h.Neighbours(ifname)
			if err != nil {
				sn.Err = err.Error()
				continue
			}
			for _, n := range ns {
				n.Dev = dev
				sn.Entries = append(sn.Entries, n)
			}
		}
		sn.AfterNs = kclock.MonoNs(time.Now())
		sort.Slice(sn.Entries, func(i, j int) bool {
			if sn.Entries[i].Dev != sn.Entries[j].Dev {
				return sn.Entries[i].Dev < sn.Entries[j].Dev
			}
			return sn.Entries[i].IP.Less(sn.Entries[j].IP)
		})
		b.mu.Lock()
		b.run.Snapshots = append(b.run.Snapshots, sn)
		b.mu.Unlock()
	}
}

// adminText runs an `ip neigh` command as the scenario's script wrote
// it; a command that does not parse is recorded with its error.
func (b *runner) adminText(host, text string, event int) {
	c, err := scenario.ParseNeighCmd(text)
	if err != nil {
		now := kclock.MonoNs(time.Now())
		b.recordAdmin(RunAdmin{Host: host, Cmd: text, Event: event, BeforeNs: now, AfterNs: now, Err: err.Error()})
		return
	}
	b.runAdmin(host, text, c, event)
}

// admin runs a command the runner built (a host's initial neighbours and
// entries); the record shows it as `ip neigh` would be given it.
func (b *runner) admin(host string, c scenario.NeighCommand, event int) {
	b.runAdmin(host, c.String(), c, event)
}

// runAdmin runs a parsed `ip neigh` command on a host over netlink.
func (b *runner) runAdmin(host, text string, c scenario.NeighCommand, event int) {
	rec := RunAdmin{Host: host, Cmd: text, Command: c, Parsed: true, Event: event}
	h := b.hosts[host]
	var err error
	rec.BeforeNs = kclock.MonoNs(time.Now())
	ifname, ok := b.devs[host][c.Dev]
	switch {
	case !ok:
		err = fmt.Errorf("no interface %q on %s", c.Dev, host)
	case c.Op == neigh.AdminDel:
		err = h.NeighDel(ifname, c.IP)
	case c.Op == neigh.AdminFlush:
		_, err = h.NeighFlush(ifname)
	default:
		spec := labnet.NeighSpec{Dev: ifname, IP: c.IP, State: c.State}
		if c.LLAddr != nil {
			spec.LLAddr, spec.HasLLAddr = *c.LLAddr, true
		}
		err = h.NeighSet(c.Op, spec)
	}
	rec.AfterNs = kclock.MonoNs(time.Now())
	if err != nil {
		rec.Err = err.Error()
	}
	b.recordAdmin(rec)
}

func (b *runner) recordAdmin(rec RunAdmin) {
	b.mu.Lock()
	b.run.Admin = append(b.run.Admin, rec)
	b.mu.Unlock()
}

// move gives ip to station to: `ip addr del` on the owner, `ip addr add`
// on the new one.
func (b *runner) move(ip netip.Addr, to string) {
	b.mu.Lock()
	from := b.owners[ip]
	b.owners[ip] = to
	b.mu.Unlock()
	rec := RunMove{IP: ip, From: from, To: to, BeforeNs: kclock.MonoNs(time.Now())}
	var err error
	if old := b.stations[from]; old != nil && from != to {
		err = old.addr(ip, false)
	}
	if nw := b.stations[to]; err == nil && nw != nil && from != to {
		err = nw.addr(ip, true)
	}
	rec.AfterNs = kclock.MonoNs(time.Now())
	if err != nil {
		rec.Err = err.Error()
	}
	b.mu.Lock()
	b.run.Moves = append(b.run.Moves, rec)
	b.mu.Unlock()
}

func (st *station) addr(ip netip.Addr, add bool) error {
	p := netip.PrefixFrom(ip, st.bits[ip])
	return st.host.SetAddr(st.ifname, p, add)
}

// sendGARP injects one frame of a schedule from the station's raw port.
func (b *runner) sendGARP(st *station, f garp.Frame, event, k int, preset string) {
	frame := make([]byte, 0, 14+arp.Len)
	frame = append(frame, f.EthDst[:]...)
	frame = append(frame, st.cfg.MAC.MAC[:]...)
	frame = append(frame, 0x08, 0x06)
	frame = f.Packet.Append(frame)
	b.sendFrame(st, frame, event, k, preset)
}

// sendFrame injects a whole Ethernet frame from the station's raw port and
// records it.
func (b *runner) sendFrame(st *station, frame []byte, event, k int, cause string) {
	rec := RunSend{Station: st.cfg.Name, Event: event, Frame: k, Cause: cause, Data: frame}
	rec.BeforeNs = kclock.MonoNs(time.Now())
	after, err := st.port.Send(frame)
	rec.AfterNs = kclock.MonoNs(after)
	if err != nil {
		rec.Err = err.Error()
	}
	b.mu.Lock()
	b.run.Sends = append(b.run.Sends, rec)
	b.mu.Unlock()
}

// answerForeign answers ARP requests for the station's IPs that reached
// it only because the segment floods (unicast to another MAC), which the
// kernel would drop (spec §11 Q5: answer_foreign_probes). These answers
// honour the station's think time; the answers its kernel gives to
// requests for its own MAC go out at once.
func (b *runner) answerForeign(st *station) {
	defer b.wg.Done()
	ctx, cancel := context.WithCancel(b.ctx)
	defer cancel()
	go func() {
		select {
		case <-b.stop:
		case <-ctx.Done():
		}
		cancel()
	}()
	for {
		f, err := st.port.Recv(ctx)
		if err != nil {
			return
		}
		if f.Type != ether.PktOtherHost || len(f.Data) < 14+arp.Len {
			continue
		}
		var p arp.Packet
		if p.Unmarshal(f.Data[14:]) != nil || p.Op != arp.OpRequest || p.SIP == p.TIP {
			continue
		}
		b.mu.Lock()
		owner := b.owners[p.TIP]
		b.mu.Unlock()
		if owner != st.cfg.Name {
			continue
		}
		// The station answers after its think time, counted from when the
		// request reached it, as the simulator's stations do.
		if !sleepUntil(b.stop, kclock.MonoNs(f.At)+int64(st.cfg.Think.D)) {
			return
		}
		mac := st.cfg.MAC.MAC
		rep := arp.NewPacket(arp.OpReply, mac, p.TIP, p.SHA, p.SIP)
		var src arp.MAC
		copy(src[:], f.Data[6:12])
		frame := append(append(append([]byte{}, src[:]...), mac[:]...), 0x08, 0x06)
		frame = rep.Append(frame)
		rec := RunSend{Station: st.cfg.Name, Event: -1, Cause: "answer-foreign-probe", Data: frame, BeforeNs: kclock.MonoNs(time.Now())}
		after, err := st.port.Send(frame)
		rec.AfterNs = kclock.MonoNs(after)
		if err != nil {
			rec.Err = err.Error()
		}
		b.mu.Lock()
		b.run.Sends = append(b.run.Sends, rec)
		b.mu.Unlock()
	}
}

// startFlow starts a real flow from a host.
func (b *runner) startFlow(f *scenario.Flow, event int) {
	rec := &RunFlow{Name: f.Name, Kind: f.Kind, From: f.From, To: f.To.Addr, Confirm: f.Confirm, StartNs: kclock.MonoNs(time.Now())}
	rec.PeerPort = flowTCPPort
	if f.Kind == "udp" {
		rec.PeerPort = flowUDPPort
	}
	until := b.run.EpochNs + int64(b.s.Duration.D)
	if f.Until.D > 0 {
		until = min(until, b.run.EpochNs+int64(f.Until.D))
	}
	fr := &flowRunner{h: b.hosts[f.From], rec: rec, interval: time.Duration(f.Interval.D), timeout: time.Duration(f.Timeout.D), until: until, stop: b.stop}
	b.mu.Lock()
	b.flows = append(b.flows, fr)
	b.mu.Unlock()
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		fr.run()
	}()
}

// watchPeriodic notices runs of the table's periodic work and reads the
// parameters after each (it may re-randomise reachable_time).
func (b *runner) watchPeriodic() {
	defer b.wg.Done()
	prev, err := labnet.ReadArpCacheStat()
	if err != nil {
		b.note("periodic work not watched: %v", err)
		return
	}
	prevNs := kclock.MonoNs(time.Now())
	tk := time.NewTicker(b.opt.PollPeriodic)
	defer tk.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-b.ctx.Done():
			return
		case <-tk.C:
		}
		n, err := labnet.ReadArpCacheStat()
		now := kclock.MonoNs(time.Now())
		if err != nil {
			prevNs = now
			continue
		}
		if n.PeriodicRuns == prev.PeriodicRuns {
			prev, prevNs = n, now
			continue
		}
		// The count the work compared with gc_thresh1 is the one before
		// it ran: afterwards it may have removed entries of every
		// namespace.
		rec := RunPeriodic{AfterNs: prevNs, BeforeNs: now, EntriesBefore: prev.Entries, Params: map[string]map[string]labnet.NeighParams{}, HostEntries: map[string]int{}}
		prev = n
		for _, name := range b.observed {
			hp, _ := b.params(name)
			rec.Table = hp.info
			rec.Params[name] = hp.params
			cnt := 0
			for _, ifname := range b.devs[name] {
				ns, _ := b.hosts[name].Neighbours(ifname)
				cnt += len(ns)
			}
			rec.HostEntries[name] = cnt
		}
		prevNs = kclock.MonoNs(time.Now())
		b.mu.Lock()
		b.run.Periodic = append(b.run.Periodic, rec)
		b.mu.Unlock()
	}
}
