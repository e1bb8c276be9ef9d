package lab

import (
	"fmt"
	"net/netip"
	"sort"
	"time"

	"arplab/internal/kclock"
	"arplab/internal/ktrace"
	"arplab/internal/labnet"
	"arplab/internal/scenario"
)

// build creates the namespaces, bridges and links.
func (b *runner) build() error {
	l := b.l
	b.hosts, b.stations = map[string]*labnet.Host{}, map[string]*station{}
	b.devs, b.owners = map[string]map[string]string{}, map[netip.Addr]string{}
	segs := map[string]*labnet.Segment{}
	for _, g := range b.s.Segments {
		seg, err := l.AddSegmentWith(g.Name, labnet.SegmentOptions{FloodUnknown: g.FloodUnknown})
		if err != nil {
			return err
		}
		segs[g.Name] = seg
	}
	observed := map[int]bool{}
	for _, i := range b.s.Observed() {
		observed[i] = true
	}
	segPrefixes := map[string][]netip.Prefix{}
	for hi := range b.s.Hosts {
		hc := &b.s.Hosts[hi]
		h, err := l.AddHost("h-" + hc.Name)
		if err != nil {
			return err
		}
		b.hosts[hc.Name] = h
		rh := RunHost{Name: hc.Name, NS: h.NSName(), Observed: observed[hi]}
		b.devs[hc.Name] = map[string]string{}
		for ii, ic := range hc.Interfaces {
			ifname := l.IfName(fmt.Sprintf("h%di%d", hi, ii))
			var addrs []netip.Prefix
			for _, a := range ic.Addrs {
				addrs = append(addrs, a.Prefix)
				segPrefixes[ic.Segment] = append(segPrefixes[ic.Segment], a.Prefix.Masked())
			}
			if err := l.Attach(h, ifname, segs[ic.Segment], ic.MAC.MAC, addrs); err != nil {
				return err
			}
			b.devs[hc.Name][ic.Name] = ifname
			rh.Devs = append(rh.Devs, RunDev{Name: ic.Name, IfName: ifname, MAC: ic.MAC.MAC, Addrs: addrs})
		}
		if rh.Observed {
			b.observed = append(b.observed, hc.Name)
		}
		b.run.Hosts = append(b.run.Hosts, rh)
	}
	for si := range b.s.Stations {
		sc := &b.s.Stations[si]
		h, err := l.AddHost("s-" + sc.Name)
		if err != nil {
			return err
		}
		st := &station{cfg: sc, host: h, ifname: l.IfName(fmt.Sprintf("s%d", si)), bits: map[netip.Addr]int{}}
		var addrs []netip.Prefix
		for _, ip := range sc.IPs {
			p := st.prefixFor(ip.Addr, segPrefixes[sc.Segment])
			if p.Bits() == 32 {
				b.note("station %s: %v is in no host subnet of segment %s: added as /32", sc.Name, ip, sc.Segment)
			}
			addrs = append(addrs, p)
			b.owners[ip.Addr] = sc.Name
		}
		// Moves need the prefix length of every IP any station may get.
		for _, e := range b.s.Script {
			if e.Move != nil {
				st.prefixFor(e.Move.IP.Addr, segPrefixes[sc.Segment])
			}
		}
		if err := l.Attach(h, st.ifname, segs[sc.Segment], sc.MAC.MAC, addrs); err != nil {
			return err
		}
		if st.port, err = h.OpenRaw(st.ifname); err != nil {
			return err
		}
		if sc.Think.D != scenario.DefaultThink && !sc.AnswerForeignProbes {
			b.note("station %s: think %v applies to the answers the lab sends itself (answer_foreign_probes); "+
				"the station's kernel answers ARP and TCP for its own MAC at once", sc.Name, time.Duration(sc.Think.D))
		}
		b.stations[sc.Name] = st
	}
	// The calibration host.
	cal, err := l.AddHost("cal")
	if err != nil {
		return err
	}
	calSeg, err := l.AddSegment("cal")
	if err != nil {
		return err
	}
	b.cal, b.calIf = cal, l.IfName("cal")
	return l.Attach(cal, b.calIf, calSeg, calMAC, []netip.Prefix{calAddr})
}

// prefixFor gives a station address the prefix length of the host subnet
// that contains it (so the station can answer TCP), else /32.
func (st *station) prefixFor(ip netip.Addr, subnets []netip.Prefix) netip.Prefix {
	if bits, ok := st.bits[ip]; ok {
		return netip.PrefixFrom(ip, bits)
	}
	bits := 32
	for _, p := range subnets {
		if p.Contains(ip) {
			bits = p.Bits()
			break
		}
	}
	st.bits[ip] = bits
	return netip.PrefixFrom(ip, bits)
}

// labSysctl maps a scenario sysctl key to the lab's path, or says why it
// cannot be set inside a namespace.
func (b *runner) labSysctl(host, key string) (string, error) {
	kind, dev, name, err := scenario.SplitSysctl(key)
	if err != nil {
		return "", err
	}
	switch dev {
	case "all", "default":
		if kind == "neigh" {
			return "", fmt.Errorf("neigh/default exists only in the initial namespace (its gc_thresh* are global to the machine): not set in the lab")
		}
	default:
		ifname, ok := b.devs[host][dev]
		if !ok {
			return "", fmt.Errorf("no interface %q on %s", dev, host)
		}
		dev = ifname
	}
	return fmt.Sprintf("net/ipv4/%s/%s/%s", kind, dev, name), nil
}

// configure applies the hosts' sysctls, starts the recorders, tracer,
// servers and responders, and reads the parameters in force.
func (b *runner) configure() error {
	for hi := range b.s.Hosts {
		hc := &b.s.Hosts[hi]
		keys := make([]string, 0, len(hc.Sysctls))
		for k := range hc.Sysctls {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			rec := b.writeSysctl(hc.Name, k, hc.Sysctls[k], -1)
			if rec.Err != "" {
				b.note("host %s: sysctl %s=%s: %s", hc.Name, k, hc.Sysctls[k], rec.Err)
			}
		}
	}
	// Servers in every namespace, so flows reach whoever owns an IP.
	for _, h := range b.hosts {
		srv, err := startServers(h)
		if err != nil {
			return err
		}
		b.srv = append(b.srv, srv)
	}
	for _, st := range b.stations {
		srv, err := startServers(st.host)
		if err != nil {
			return err
		}
		b.srv = append(b.srv, srv)
	}
	// Recorders and the tracer on the observed hosts' interfaces.
	var trDevs []string
	for _, name := range b.observed {
		rh := b.run.Host(name)
		for _, d := range rh.Devs {
			c, err := b.hosts[name].StartCapture(d.IfName)
			if err != nil {
				return err
			}
			b.recs = append(b.recs, &recording{host: name, dev: d.Name, c: c})
			trDevs = append(trDevs, d.IfName)
		}
	}
	if b.opt.NoTrace {
		b.run.TraceNote = "tracepoints not used (NoTrace)"
	} else {
		t, err := b.l.StartTracer(ktrace.TracerOptions{Events: runEvents, Devs: append(trDevs, b.calIf), BufferKB: 8192})
		if err != nil {
			b.run.TraceNote = "no tracepoint oracle: " + err.Error()
			b.note("%s; frame verdicts are unknown, only table snapshots are compared", b.run.TraceNote)
		} else if t.Clock() != "mono" {
			t.Close()
			b.run.TraceNote = "the trace clock cannot be set to mono"
			b.note("%s; frame verdicts are unknown", b.run.TraceNote)
		} else {
			b.tracer = t
			b.run.TraceOK = true
		}
	}
	// Answers to probes unicast to another MAC (spec §11 Q5).
	for _, st := range b.stations {
		if st.cfg.AnswerForeignProbes {
			b.wg.Add(1)
			go b.answerForeign(st)
		}
	}
	return b.readParams()
}

// readParams records the parameters in force on every host.
func (b *runner) readParams() error {
	for i := range b.run.Hosts {
		rh := &b.run.Hosts[i]
		h := b.hosts[rh.Name]
		info, parms, err := h.NeighTable()
		if err != nil {
			return err
		}
		if i == 0 {
			b.run.Table = info
		}
		links, err := h.Links()
		if err != nil {
			return err
		}
		if rh.ConfAll, err = h.ReadConf("all"); err != nil {
			return err
		}
		for j := range rh.Devs {
			d := &rh.Devs[j]
			for _, ln := range links {
				if ln.Name == d.IfName {
					d.Params = parms[ln.Index]
				}
			}
			if d.Conf, err = h.ReadConf(d.IfName); err != nil {
				return err
			}
		}
	}
	return nil
}

// params reads every interface's parameters and conf of one host, keyed
// by scenario interface name.
func (b *runner) params(host string) (labnet.TableInfo, map[string]labnet.NeighParams, map[string]map[string]string, map[string]string) {
	h := b.hosts[host]
	info, parms, err := h.NeighTable()
	if err != nil {
		return info, nil, nil, nil
	}
	links, _ := h.Links()
	idx := map[string]int{}
	for _, ln := range links {
		idx[ln.Name] = ln.Index
	}
	out := map[string]labnet.NeighParams{}
	conf := map[string]map[string]string{}
	for dev, ifname := range b.devs[host] {
		out[dev] = parms[idx[ifname]]
		conf[dev], _ = h.ReadConf(ifname)
	}
	all, _ := h.ReadConf("all")
	return info, out, conf, all
}

func (b *runner) writeSysctl(host, key, value string, event int) RunSysctl {
	rec := RunSysctl{Host: host, Key: key, Value: value, Event: event}
	path, err := b.labSysctl(host, key)
	rec.BeforeNs = kclock.MonoNs(time.Now())
	if err == nil {
		rec.Path = path
		err = b.hosts[host].SetSysctl(path, value)
	}
	rec.AfterNs = kclock.MonoNs(time.Now())
	if err != nil {
		rec.Err = err.Error()
	}
	_, rec.Params, rec.Conf, rec.ConfAll = b.params(host)
	b.mu.Lock()
	b.run.Sysctls = append(b.run.Sysctls, rec)
	b.mu.Unlock()
	return rec
}
