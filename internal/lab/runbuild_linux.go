package lab

import (
	"fmt"
	"net/netip"
	"sort"
	"time"

	"arplab/internal/kclock"
	"arplab/internal/ktrace"
	"arplab/internal/labnet"
	"arplab/internal/neigh"
	"arplab/internal/scenario"
	"arplab/internal/wire/ndisc"
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
		if b.run.IPv6 {
			if err := h.EnableIPv6(); err != nil {
				return err
			}
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
		if b.run.IPv6 {
			if err := h.EnableIPv6(); err != nil {
				return err
			}
		}
		st := &station{cfg: sc, host: h, ifname: l.IfName(fmt.Sprintf("s%d", si)), bits: map[netip.Addr]int{}}
		var addrs []netip.Prefix
		for _, ip := range sc.IPs {
			p := st.prefixFor(ip.Addr, segPrefixes[sc.Segment])
			if p.Bits() == ip.Addr.BitLen() {
				b.note("station %s: %v is in no host subnet of segment %s: added as /%d", sc.Name, ip, sc.Segment, p.Bits())
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
// that contains it (so the station can answer TCP), else /32 (/128).
func (st *station) prefixFor(ip netip.Addr, subnets []netip.Prefix) netip.Prefix {
	if bits, ok := st.bits[ip]; ok {
		return netip.PrefixFrom(ip, bits)
	}
	bits := ip.BitLen()
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
	fam, kind, dev, name, err := neigh.SplitSysctlFamily(key)
	if err != nil {
		return "", err
	}
	family := "ipv4"
	if fam == neigh.IPv6 {
		family = "ipv6"
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
	return fmt.Sprintf("net/%s/%s/%s/%s", family, kind, dev, name), nil
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
		hp, err := b.params(rh.Name)
		if err != nil {
			return err
		}
		if i == 0 {
			b.run.Table, b.run.ND = hp.info, hp.info6
		}
		rh.ConfAll, rh.ConfAll6 = hp.all, hp.all6
		for j := range rh.Devs {
			d := &rh.Devs[j]
			d.Params, d.Conf = hp.params[d.Name], hp.conf[d.Name]
			if b.run.IPv6 {
				d.Params6, d.Conf6 = hp.params6[d.Name], hp.conf6[d.Name]
				d.LinkLocal = ndisc.LinkLocal(d.MAC) // addr_gen_mode eui64, the default
			}
		}
	}
	return nil
}

// hostParams are one host's parameters and conf, per scenario interface
// name; the IPv6 ones only in IPv6 runs.
type hostParams struct {
	info, info6     labnet.TableInfo
	params, params6 map[string]labnet.NeighParams
	conf, conf6     map[string]map[string]string
	all, all6       map[string]string
}

// params reads every interface's parameters and conf of one host.
func (b *runner) params(host string) (hostParams, error) {
	h := b.hosts[host]
	hp := hostParams{params: map[string]labnet.NeighParams{}, conf: map[string]map[string]string{}}
	var parms, parms6 map[int]labnet.NeighParams
	var err error
	if hp.info, parms, err = h.NeighTable(); err != nil {
		return hp, err
	}
	if b.run.IPv6 {
		if hp.info6, parms6, err = h.NDTable(); err != nil {
			return hp, err
		}
		hp.params6, hp.conf6 = map[string]labnet.NeighParams{}, map[string]map[string]string{}
	}
	links, err := h.Links()
	if err != nil {
		return hp, err
	}
	idx := map[string]int{}
	for _, ln := range links {
		idx[ln.Name] = ln.Index
	}
	for dev, ifname := range b.devs[host] {
		hp.params[dev] = parms[idx[ifname]]
		if hp.conf[dev], err = h.ReadConf(ifname); err != nil {
			return hp, err
		}
		if b.run.IPv6 {
			hp.params6[dev] = parms6[idx[ifname]]
			if hp.conf6[dev], err = h.ReadConf6(ifname); err != nil {
				return hp, err
			}
		}
	}
	if hp.all, err = h.ReadConf("all"); err != nil {
		return hp, err
	}
	if b.run.IPv6 {
		if hp.all6, err = h.ReadConf6("all"); err != nil {
			return hp, err
		}
	}
	return hp, nil
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
	hp, perr := b.params(host)
	if perr != nil {
		b.note("host %s: parameters after sysctl %s not read: %v", host, key, perr)
	}
	rec.Params, rec.Conf, rec.ConfAll = hp.params, hp.conf, hp.all
	rec.Params6, rec.Conf6, rec.ConfAll6 = hp.params6, hp.conf6, hp.all6
	b.mu.Lock()
	b.run.Sysctls = append(b.run.Sysctls, rec)
	b.mu.Unlock()
	return rec
}
