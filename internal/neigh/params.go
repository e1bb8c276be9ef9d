package neigh

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"arplab/internal/vtime"
)

// UserHZ is the clock_t unit of /proc files on x86 (spec §0.2).
const UserHZ = 100

// Params is one device's neighbour parameter set (/proc/sys/net/ipv4/neigh/
// <dev>/), stored as the kernel stores it: times in jiffies of the host's HZ.
// The /proc units differ per file (spec §8.1); Set and Get convert exactly
// as the kernel's proc handlers do.
type Params struct {
	HZ                int
	BaseReachableTime vtime.Ticks // base_reachable_time: 30 s
	RetransTime       vtime.Ticks // retrans_time: 1 s
	DelayProbeTime    vtime.Ticks // delay_first_probe_time: 5 s
	GCStaleTime       vtime.Ticks // gc_stale_time: 60 s
	Locktime          vtime.Ticks // locktime: 1 s
	ProxyDelay        vtime.Ticks // proxy_delay: 0.8 s
	AnycastDelay      vtime.Ticks // anycast_delay: 1 s
	UcastProbes       int         // ucast_solicit: 3
	McastProbes       int         // mcast_solicit: 3
	AppProbes         int         // app_solicit: 0
	McastReprobes     int         // mcast_resolicit: 0 (4.1+)
	UnresQlenBytes    int         // unres_qlen_bytes: 64 KiB (3.10) / 208 KiB (6.x)
	ProxyQlen         int         // proxy_qlen: 64
}

// DefaultParams returns the ARP defaults of arp_tbl (spec §2.1, §8.1) at hz.
func DefaultParams(hz int, unresQlenBytes int) Params {
	h := vtime.Ticks(hz)
	return Params{
		HZ:                hz,
		BaseReachableTime: 30 * h,
		RetransTime:       h,
		DelayProbeTime:    5 * h,
		GCStaleTime:       60 * h,
		Locktime:          h,
		ProxyDelay:        h * 8 / 10,
		AnycastDelay:      h,
		UcastProbes:       3,
		McastProbes:       3,
		AppProbes:         0,
		McastReprobes:     0,
		UnresQlenBytes:    unresQlenBytes,
		ProxyQlen:         64,
	}
}

// unit says how a /proc file shows a value (spec §8.1).
type unit int

const (
	unitCount   unit = iota // plain integer
	unitSeconds             // proc_dointvec_jiffies: value·HZ
	unitUserHZ              // proc_dointvec_userhz_jiffies: clock_t, 100 per second
	unitMillis              // proc_dointvec_ms_jiffies
)

type paramField struct {
	name  string
	unit  unit
	ticks func(p *Params) *vtime.Ticks
	count func(p *Params) *int
}

// paramFields maps every sysctl file name to its storage and unit. The _ms
// files share storage with their unsuffixed twins, as in the kernel.
var paramFields = []paramField{
	{"base_reachable_time", unitSeconds, func(p *Params) *vtime.Ticks { return &p.BaseReachableTime }, nil},
	{"base_reachable_time_ms", unitMillis, func(p *Params) *vtime.Ticks { return &p.BaseReachableTime }, nil},
	{"retrans_time", unitUserHZ, func(p *Params) *vtime.Ticks { return &p.RetransTime }, nil},
	{"retrans_time_ms", unitMillis, func(p *Params) *vtime.Ticks { return &p.RetransTime }, nil},
	{"delay_first_probe_time", unitSeconds, func(p *Params) *vtime.Ticks { return &p.DelayProbeTime }, nil},
	{"gc_stale_time", unitSeconds, func(p *Params) *vtime.Ticks { return &p.GCStaleTime }, nil},
	{"locktime", unitUserHZ, func(p *Params) *vtime.Ticks { return &p.Locktime }, nil},
	{"proxy_delay", unitUserHZ, func(p *Params) *vtime.Ticks { return &p.ProxyDelay }, nil},
	{"anycast_delay", unitUserHZ, func(p *Params) *vtime.Ticks { return &p.AnycastDelay }, nil},
	{"ucast_solicit", unitCount, nil, func(p *Params) *int { return &p.UcastProbes }},
	{"mcast_solicit", unitCount, nil, func(p *Params) *int { return &p.McastProbes }},
	{"app_solicit", unitCount, nil, func(p *Params) *int { return &p.AppProbes }},
	{"mcast_resolicit", unitCount, nil, func(p *Params) *int { return &p.McastReprobes }},
	{"unres_qlen_bytes", unitCount, nil, func(p *Params) *int { return &p.UnresQlenBytes }},
	{"proxy_qlen", unitCount, nil, func(p *Params) *int { return &p.ProxyQlen }},
}

func findParam(name string) (paramField, bool) {
	for _, f := range paramFields {
		if f.name == name {
			return f, true
		}
	}
	return paramField{}, false
}

// ParamNames lists the neighbour sysctl names Set accepts.
func ParamNames() []string {
	var out []string
	for _, f := range paramFields {
		out = append(out, f.name)
	}
	sort.Strings(out)
	return out
}

// ToTicks converts a /proc value in unit u to jiffies as the kernel does:
// seconds multiply by HZ; clock_t converts with clock_t_to_jiffies (floor
// when HZ is not a multiple of USER_HZ); milliseconds with msecs_to_jiffies,
// which rounds up.
func toTicks(v int64, u unit, hz int) vtime.Ticks {
	switch u {
	case unitSeconds:
		return vtime.Ticks(v * int64(hz))
	case unitUserHZ:
		if hz%UserHZ == 0 {
			return vtime.Ticks(v * int64(hz/UserHZ))
		}
		return vtime.Ticks(v * int64(hz) / UserHZ)
	case unitMillis:
		return vtime.MsToTicks(v, hz)
	}
	return vtime.Ticks(v)
}

// fromTicks is the reverse, as /proc prints it (jiffies_to_clock_t,
// jiffies_to_msecs, division by HZ).
func fromTicks(t vtime.Ticks, u unit, hz int) int64 {
	switch u {
	case unitSeconds:
		return int64(t) / int64(hz)
	case unitUserHZ:
		return int64(t) * UserHZ / int64(hz)
	case unitMillis:
		return int64(t) * 1000 / int64(hz)
	}
	return int64(t)
}

// Set writes sysctl name (e.g. "locktime", "base_reachable_time_ms") with
// the /proc value text, converting units exactly as the kernel does.
func (p *Params) Set(name, value string) error {
	f, ok := findParam(name)
	if !ok {
		return fmt.Errorf("unknown neighbour sysctl %q (known: %s)", name, strings.Join(ParamNames(), ", "))
	}
	v, err := strconv.ParseInt(strings.TrimSpace(value), 10, 64)
	if err != nil {
		return fmt.Errorf("neigh/%s: %q is not an integer", name, value)
	}
	if v < 0 {
		return fmt.Errorf("neigh/%s: %d is negative", name, v)
	}
	if f.count != nil {
		*f.count(p) = int(v)
		return nil
	}
	*f.ticks(p) = toTicks(v, f.unit, p.HZ)
	return nil
}

// Get returns sysctl name as /proc would print it.
func (p *Params) Get(name string) (string, error) {
	f, ok := findParam(name)
	if !ok {
		return "", fmt.Errorf("unknown neighbour sysctl %q", name)
	}
	if f.count != nil {
		return strconv.Itoa(*f.count(p)), nil
	}
	return strconv.FormatInt(fromTicks(*f.ticks(p), f.unit, p.HZ), 10), nil
}

// Validate rejects parameter sets the model cannot run, with a sentence.
func (p Params) Validate() error {
	if err := vtime.ValidHZ(p.HZ); err != nil {
		return err
	}
	switch {
	case p.RetransTime < 0 || p.DelayProbeTime < 0 || p.Locktime < 0 || p.BaseReachableTime < 0 || p.GCStaleTime < 0:
		return fmt.Errorf("neighbour times must not be negative")
	case p.UcastProbes < 0 || p.McastProbes < 0 || p.AppProbes < 0 || p.McastReprobes < 0:
		return fmt.Errorf("probe counts must not be negative")
	case p.UnresQlenBytes < 0:
		return fmt.Errorf("unres_qlen_bytes must not be negative")
	}
	return nil
}

// Sysctls returns every parameter as /proc shows it, sorted by name.
func (p Params) Sysctls() map[string]string {
	out := map[string]string{}
	for _, f := range paramFields {
		v, _ := p.Get(f.name)
		out[f.name] = v
	}
	return out
}

// Conf is a device's IPv4 settings from /proc/sys/net/ipv4/conf/<dev>/ that
// the ARP receive path reads (spec §8.2). The effective value combines the
// device's with conf/all (see Table.conf).
type Conf struct {
	ARPAccept         int  // arp_accept: 0, 1 (2 on 6.0+)
	ARPIgnore         int  // arp_ignore: 0, 1, 2, 3, 8
	ARPAnnounce       int  // arp_announce: 0, 1, 2
	ARPFilter         bool // arp_filter
	ARPNotify         bool // arp_notify
	DropGratuitousARP bool // drop_gratuitous_arp (4.6+)
	ARPEvictNoCarrier bool // arp_evict_nocarrier (5.16+, default 1)
}

// DefaultConf returns the kernel defaults.
func DefaultConf() Conf { return Conf{ARPEvictNoCarrier: true} }

// ConfNames lists the conf sysctl names SetConf accepts.
var ConfNames = []string{"arp_accept", "arp_announce", "arp_evict_nocarrier", "arp_filter", "arp_ignore", "arp_notify", "drop_gratuitous_arp"}

// confInt reads a conf switch's value: a non-negative integer, as every
// conf sysctl the model reads (spec §8.2, ndisc §8.2). table names it in
// errors ("conf", "ipv6 conf").
func confInt(table, name, value string) (int, error) {
	v, err := strconv.Atoi(strings.TrimSpace(value))
	if err != nil {
		return 0, fmt.Errorf("%s/%s: %q is not an integer", table, name, value)
	}
	if v < 0 {
		return 0, fmt.Errorf("%s/%s: %d is negative", table, name, v)
	}
	return v, nil
}

// Set writes a conf sysctl by name.
func (c *Conf) Set(name, value string) error {
	v, err := confInt("conf", name, value)
	if err != nil {
		return err
	}
	switch name {
	case "arp_accept":
		c.ARPAccept = v
	case "arp_ignore":
		c.ARPIgnore = v
	case "arp_announce":
		c.ARPAnnounce = v
	case "arp_filter":
		c.ARPFilter = v != 0
	case "arp_notify":
		c.ARPNotify = v != 0
	case "drop_gratuitous_arp":
		c.DropGratuitousARP = v != 0
	case "arp_evict_nocarrier":
		c.ARPEvictNoCarrier = v != 0
	default:
		return fmt.Errorf("unknown conf sysctl %q (known: %s)", name, strings.Join(ConfNames, ", "))
	}
	return nil
}

// SplitSysctl splits "net.ipv4.neigh.eth0.locktime" (or with '/', or
// without the net.ipv4. or /proc/sys/ prefix) into kind ("neigh" or
// "conf"), device and name. It is the one syntax every input of sysctls
// accepts (scenario files, --set, the lab, replay); SplitSysctlKey is the
// same parser for inputs that also take a bare name.
func SplitSysctl(k string) (kind, dev, name string, err error) {
	kind, dev, name, err = SplitSysctlKey(k)
	if err == nil && kind == "" {
		err = fmt.Errorf("sysctl %q: want neigh.<dev>.<name> or conf.<dev>.<name> (net.ipv4. prefix optional)", k)
	}
	return kind, dev, name, err
}

// SplitSysctlKey is SplitSysctl that also takes a bare name ("locktime",
// "arp_accept"), returned with kind and dev empty, for inputs that apply a
// name to a device of their own choosing (replay's --set). A device name
// may itself contain dots (eth0.100): everything between the kind and the
// last part is the device.
func SplitSysctlKey(k string) (kind, dev, name string, err error) {
	s := strings.ReplaceAll(strings.TrimPrefix(k, "/proc/sys/"), "/", ".")
	s = strings.TrimPrefix(s, "net.ipv4.")
	parts := strings.Split(s, ".")
	if len(parts) == 1 && s != "" {
		return "", "", s, nil
	}
	if len(parts) < 3 || (parts[0] != "neigh" && parts[0] != "conf") || slices.Contains(parts, "") {
		return "", "", "", fmt.Errorf("sysctl %q: want neigh.<dev>.<name>, conf.<dev>.<name> (net.ipv4. prefix optional) or a bare name", k)
	}
	return parts[0], strings.Join(parts[1:len(parts)-1], "."), parts[len(parts)-1], nil
}

// Range is the span of values the kernel's /proc handler accepts for one
// sysctl, in /proc units; anything else `sysctl -w` refuses (EINVAL).
type Range struct{ Min, Max int64 }

func (r Range) String() string { return fmt.Sprintf("%d to %d", r.Min, r.Max) }

// CheckSysctl checks a value for the sysctl name (without device) as
// `sysctl -w` would: a whole number within the kernel's range, in /proc
// units. Every input that sets a sysctl (a scenario, --set, replay's
// --set) uses it, so the errors read alike.
func CheckSysctl(name, value string) error {
	r, ok := SysctlRange(name)
	if !ok {
		return fmt.Errorf("unknown sysctl %q", name)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(value), 10, 64)
	if err != nil {
		return fmt.Errorf("%s: %q is not a whole number", name, value)
	}
	if n < r.Min || n > r.Max {
		return fmt.Errorf("%s %d is out of the kernel's range (allowed: %s)", name, n, r)
	}
	return nil
}

// sysctlRanges are the ranges of every sysctl the model reads (spec §8.1,
// §8.2). Neighbour parameters are non-negative ints (the table's
// zero-to-INT_MAX handler); the seconds files store value·HZ in an int, so
// their ceiling is INT_MAX / HZ at the highest HZ. The conf switches take
// the values the kernel documents: arp_accept 0–2 (2 since 6.0),
// arp_ignore 0–8 (4–7 reserved), arp_announce 0–2, the rest 0 or 1.
var sysctlRanges = map[string]Range{
	"base_reachable_time":    {0, math.MaxInt32 / 1000},
	"delay_first_probe_time": {0, math.MaxInt32 / 1000},
	"gc_stale_time":          {0, math.MaxInt32 / 1000},
	"gc_interval":            {0, math.MaxInt32 / 1000},
	"base_reachable_time_ms": {0, math.MaxInt32},
	"retrans_time":           {0, math.MaxInt32},
	"retrans_time_ms":        {0, math.MaxInt32},
	"locktime":               {0, math.MaxInt32},
	"proxy_delay":            {0, math.MaxInt32},
	"anycast_delay":          {0, math.MaxInt32},
	"ucast_solicit":          {0, math.MaxInt32},
	"mcast_solicit":          {0, math.MaxInt32},
	"app_solicit":            {0, math.MaxInt32},
	"mcast_resolicit":        {0, math.MaxInt32},
	"unres_qlen_bytes":       {0, math.MaxInt32},
	"proxy_qlen":             {0, math.MaxInt32},
	"gc_thresh1":             {0, math.MaxInt32},
	"gc_thresh2":             {0, math.MaxInt32},
	"gc_thresh3":             {0, math.MaxInt32},
	"arp_accept":             {0, 2},
	"arp_ignore":             {0, 8},
	"arp_announce":           {0, 2},
	"arp_filter":             {0, 1},
	"arp_notify":             {0, 1},
	"drop_gratuitous_arp":    {0, 1},
	"arp_evict_nocarrier":    {0, 1},
	// net/ipv6/conf (ndisc §8.2)
	"forwarding":                   {0, 1},
	"ndisc_notify":                 {0, 1},
	"drop_unsolicited_na":          {0, 1},
	"drop_unicast_in_l2_multicast": {0, 1},
	"accept_untracked_na":          {0, 2},
	"ndisc_evict_nocarrier":        {0, 1},
	"force_tllao":                  {0, 1},
	"suppress_frag_ndisc":          {0, 1},
	"accept_ra":                    {0, 2},
}

// SysctlRange returns the kernel's range for a neighbour or conf sysctl
// name (without device), and whether the model knows the name.
func SysctlRange(name string) (Range, bool) {
	r, ok := sysctlRanges[name]
	return r, ok
}
