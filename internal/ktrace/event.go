package ktrace

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	"arplab/internal/neigh"
	"arplab/internal/wire/arp"
)

// Neighbour tracepoints (include/trace/events/neigh.h). Which exist depends
// on the kernel; NewTracer enables those present.
var DefaultEvents = []string{
	"neigh_create",
	"neigh_update",
	"neigh_update_done",
	"neigh_timer_handler",
	"neigh_event_send_done",
}

// __neigh_update flags as the neigh_update tracepoint prints them in
// update_flags (include/net/neighbour.h, bit layout since 5.16; older kernels
// used 0x80000000 for ADMIN and 0x40000000 for ISROUTER).
const (
	UpdateOverride         uint32 = 1 << 0 // replace a different lladdr
	UpdateWeakOverride     uint32 = 1 << 1 // only demote a connected entry to STALE
	UpdateOverrideIsRouter uint32 = 1 << 2
	UpdateUse              uint32 = 1 << 3
	UpdateManaged          uint32 = 1 << 4
	UpdateExtLearned       uint32 = 1 << 5
	UpdateIsRouter         uint32 = 1 << 6
	UpdateAdmin            uint32 = 1 << 7 // from netlink (ip neigh), not from a packet
	UpdateExtValidated     uint32 = 1 << 8 // 6.16+
)

// Event is one parsed neigh:* trace line. Which fields are set depends
// on Event: neigh_create has no lladdr, state or timestamps; only
// neigh_update has the New* fields, UpdateFlags and NetlinkPID; the *_done,
// timer and cleanup events have Err.
type Event struct {
	Event string // "neigh_update", "neigh_update_done", ...
	Task  string // task that hit the tracepoint ("ip", "<idle>", "ksoftirqd/1")
	PID   int    // its pid
	CPU   int

	// TimestampNs is the trace clock in nanoseconds (microsecond
	// resolution). Tracers set the instance clock to "mono", so it is
	// CLOCK_MONOTONIC and comparable with MonoNs(sentAt).
	TimestampNs int64

	Family int // 2 = IPv4, 10 = IPv6
	Dev    string
	IP     netip.Addr // primary_key4 or primary_key6, by Family (neigh_create prints garbage in the unused one)

	// LLAddr and State are the entry as the event saw it: for
	// neigh_update that is *before* the update, for neigh_update_done
	// after it.
	LLAddr    arp.MAC
	LLAddrLen int
	State     neigh.State

	// The update neigh_update was asked to make. Whether it happened is
	// in the following neigh_update_done (or visible from UpdateFlags:
	// without UpdateOverride a different lladdr is ignored). When the
	// caller passed no address (`ip neigh del`, NTF_USE) the kernel
	// prints uninitialised bytes as new_lladdr (seen on 6.18:
	// 000000006f30), so NewLLAddr means nothing for admin updates that
	// carry no NDA_LLADDR.
	NewLLAddr   arp.MAC
	NewState    neigh.State
	UpdateFlags uint32
	NetlinkPID  uint32 // netlink portid of the requester; 0 when the kernel itself updates (ARP)

	Flags  uint8 // ndm-style entry flags
	Type   uint8 // route type (01 = unicast)
	Dead   bool
	Refcnt int

	// The entry's jiffies stamps (raw, unsigned, wrap with the kernel's
	// jiffies; INITIAL_JIFFIES puts them near 2^32 after boot).
	Confirmed, Updated, Used uint64

	Err      int  // *_done, timer and cleanup events
	Entries  int  // neigh_create: table size
	Created  bool // neigh_create: an entry was allocated
	GCExempt bool // neigh_create

	Raw string // the line as read
}

// Override reports whether the update carried NEIGH_UPDATE_F_OVERRIDE, the
// bit ARP sets when locktime has passed or the frame is a GARP.
func (e Event) Override() bool { return e.UpdateFlags&UpdateOverride != 0 }

// Ignored reports whether __neigh_update (6.x) discards the address change
// a neigh_update event asks for: a non-admin update of a NOARP/PERMANENT
// entry, or a different lladdr for a valid entry without
// NEIGH_UPDATE_F_OVERRIDE (with WEAK_OVERRIDE a connected entry only drops
// to STALE and keeps its address). An ARP packet inside locktime that is
// not a GARP is the typical case (update_flags 00).
func (e Event) Ignored() bool {
	if e.Event != "neigh_update" {
		return false
	}
	if e.UpdateFlags&UpdateAdmin == 0 && e.State&(neigh.NoARP|neigh.Permanent) != 0 {
		return true
	}
	return e.State.Valid() && e.NewState.Valid() &&
		e.NewLLAddr != e.LLAddr && e.UpdateFlags&UpdateOverride == 0
}

func (e Event) String() string {
	if e.Event == "neigh_update" {
		return fmt.Sprintf("%d %s dev %s %s %s %s -> %s %s flags %02x", e.TimestampNs, e.Event, e.Dev, e.IP,
			e.LLAddr, e.State, e.NewLLAddr, e.NewState, e.UpdateFlags)
	}
	return fmt.Sprintf("%d %s dev %s %s %s %s", e.TimestampNs, e.Event, e.Dev, e.IP, e.LLAddr, e.State)
}

// EventFormat is what a tracepoint's format file says about its text
// output: the keys of the print fmt, in order.
type EventFormat struct {
	Name   string
	ID     int
	Fields []string // binary record fields, without the common_* ones
	Keys   []string // keys of the "key %x" pairs in print fmt, in order
}

// ParseEventFormat reads the text of events/<system>/<event>/format.
func ParseEventFormat(text string) (*EventFormat, error) {
	f := &EventFormat{}
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "name:"):
			f.Name = strings.TrimSpace(strings.TrimPrefix(line, "name:"))
		case strings.HasPrefix(line, "ID:"):
			f.ID, _ = strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "ID:")))
		case strings.HasPrefix(line, "field:"):
			decl, _, _ := strings.Cut(strings.TrimPrefix(line, "field:"), ";")
			decl = strings.TrimSpace(decl)
			name := decl[strings.LastIndexAny(decl, " \t")+1:]
			if i := strings.IndexByte(name, '['); i >= 0 {
				name = name[:i]
			}
			if !strings.HasPrefix(name, "common_") {
				f.Fields = append(f.Fields, name)
			}
		case strings.HasPrefix(line, "print fmt:"):
			rest := strings.TrimSpace(strings.TrimPrefix(line, "print fmt:"))
			if !strings.HasPrefix(rest, `"`) {
				return nil, fmt.Errorf("lab: format of %s: print fmt is not a string: %q", f.Name, rest)
			}
			end := strings.IndexByte(rest[1:], '"')
			if end < 0 {
				return nil, fmt.Errorf("lab: format of %s: unterminated print fmt", f.Name)
			}
			toks := strings.Fields(rest[1 : end+1])
			for i := 0; i+1 < len(toks); i += 2 {
				if !strings.HasPrefix(toks[i+1], "%") {
					return nil, fmt.Errorf("lab: format of %s: print fmt is not \"key %%x\" pairs at %q", f.Name, toks[i])
				}
				f.Keys = append(f.Keys, toks[i])
			}
		}
	}
	if f.Name == "" {
		return nil, errors.New("lab: format has no name: line")
	}
	return f, nil
}

// Parser turns trace_pipe lines into Events. With the format of an
// event it checks that the line's keys are those of the format, in order, so
// a kernel whose output changed fails loudly instead of parsing garbage.
type Parser struct {
	formats map[string]*EventFormat
}

// NewParser returns a parser that checks lines against the given
// formats. Events without a format are parsed as plain "key value" pairs.
func NewParser(formats ...*EventFormat) *Parser {
	p := &Parser{formats: map[string]*EventFormat{}}
	for _, f := range formats {
		p.formats[f.Name] = f
	}
	return p
}

// LostEventsError is returned for the "CPU:N [LOST M EVENTS]" lines the
// kernel writes when the ring buffer overran.
type LostEventsError struct{ CPU, Lost int }

func (e *LostEventsError) Error() string {
	return fmt.Sprintf("lab: trace buffer overran: %d events lost on CPU %d", e.Lost, e.CPU)
}

// errNotEvent marks comment and blank lines (the header of the trace file).
var errNotEvent = errors.New("lab: not a trace event line")

// Example:
//
//	ip-3708    [001] .....   211.118258: neigh_update: family 2 dev a0 ...
var (
	traceLineRE = regexp.MustCompile(`^\s*(.+)-(\d+)\s+(?:\(\s*[-\d]+\)\s+)?\[(\d+)\]\s+(?:\S+\s+)?(\d+)(?:\.(\d+))?:\s+(\w+):\s?(.*)$`)
	lostRE      = regexp.MustCompile(`^CPU:(\d+) \[LOST (\d+) EVENTS\]`)
)

// Parse parses one line.
func (p *Parser) Parse(line string) (Event, error) {
	line = strings.TrimRight(line, "\r\n")
	ev := Event{Raw: line}
	if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
		return ev, errNotEvent
	}
	if m := lostRE.FindStringSubmatch(line); m != nil {
		cpu, _ := strconv.Atoi(m[1])
		n, _ := strconv.Atoi(m[2])
		return ev, &LostEventsError{CPU: cpu, Lost: n}
	}
	m := traceLineRE.FindStringSubmatch(line)
	if m == nil {
		return ev, fmt.Errorf("lab: unrecognised trace line %q", line)
	}
	ev.Task = strings.TrimSpace(m[1])
	ev.PID, _ = strconv.Atoi(m[2])
	ev.CPU, _ = strconv.Atoi(m[3])
	sec, _ := strconv.ParseInt(m[4], 10, 64)
	ev.TimestampNs = sec * 1e9
	if frac := m[5]; frac != "" {
		if len(frac) > 9 {
			frac = frac[:9]
		}
		ns, _ := strconv.ParseInt(frac+strings.Repeat("0", 9-len(frac)), 10, 64)
		ev.TimestampNs += ns
	}
	ev.Event = m[6]
	body := m[7]
	if !strings.HasPrefix(ev.Event, "neigh_") {
		return ev, nil // e.g. tracing_mark_write: keep Raw only
	}
	keys, vals, err := splitPairs(body)
	if err != nil {
		return ev, fmt.Errorf("lab: %s: %w in %q", ev.Event, err, line)
	}
	if f := p.formats[ev.Event]; f != nil && !equalStrings(keys, f.Keys) {
		return ev, fmt.Errorf("lab: %s: keys %v differ from the format's %v", ev.Event, keys, f.Keys)
	}
	if err := ev.setFields(keys, vals); err != nil {
		return ev, fmt.Errorf("lab: %s: %w in %q", ev.Event, err, line)
	}
	return ev, nil
}

// splitPairs splits "k1 v1 k2 v2 ..." on single spaces. Values never
// contain spaces (device names cannot), but may be empty ("lladdr  flags"
// when lladdr_len is 0), which strings.Fields would lose.
func splitPairs(body string) (keys, vals []string, err error) {
	toks := strings.Split(body, " ")
	if len(toks)%2 != 0 {
		return nil, nil, fmt.Errorf("odd number of tokens (%d)", len(toks))
	}
	for i := 0; i < len(toks); i += 2 {
		keys = append(keys, toks[i])
		vals = append(vals, toks[i+1])
	}
	return keys, vals, nil
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func (e *Event) setFields(keys, vals []string) error {
	var key4, key6 string
	for i, k := range keys {
		v := vals[i]
		var err error
		switch k {
		case "family":
			e.Family, err = strconv.Atoi(v)
		case "dev":
			e.Dev = v
		case "lladdr":
			e.LLAddrLen, err = parseLLAddr(v, &e.LLAddr)
		case "new_lladdr":
			_, err = parseLLAddr(v, &e.NewLLAddr)
		case "flags":
			e.Flags, err = parseHex8(v)
		case "type":
			e.Type, err = parseHex8(v)
		case "nud_state":
			e.State, err = parseState(v)
		case "new_state":
			e.NewState, err = parseState(v)
		case "dead":
			e.Dead = v != "0"
		case "refcnt":
			e.Refcnt, err = strconv.Atoi(v)
		case "primary_key4":
			key4 = v
		case "primary_key6":
			key6 = v
		case "confirmed":
			e.Confirmed, err = strconv.ParseUint(v, 10, 64)
		case "updated":
			e.Updated, err = strconv.ParseUint(v, 10, 64)
		case "used":
			e.Used, err = strconv.ParseUint(v, 10, 64)
		case "update_flags":
			var u uint64
			u, err = strconv.ParseUint(v, 16, 32)
			e.UpdateFlags = uint32(u)
		case "pid":
			// A u32 printed with %d: portids above 2^31 come out negative.
			var n int64
			n, err = strconv.ParseInt(v, 10, 64)
			e.NetlinkPID = uint32(n)
		case "err":
			e.Err, err = strconv.Atoi(v)
		case "entries":
			e.Entries, err = strconv.Atoi(v)
		case "created":
			e.Created = v != "0"
		case "gc_exempt":
			e.GCExempt = v != "0"
		}
		if err != nil {
			return fmt.Errorf("field %s=%q: %w", k, v, err)
		}
	}
	key := key4
	if e.Family == 10 {
		key = key6
	}
	if key != "" {
		ip, err := netip.ParseAddr(key)
		if err != nil {
			return fmt.Errorf("primary key %q: %w", key, err)
		}
		e.IP = ip
	}
	return nil
}

// parseLLAddr decodes the __print_hex_str output ("0200000000aa", or ""
// when the length is 0). Addresses other than 6 bytes are reported by
// length only.
func parseLLAddr(s string, m *arp.MAC) (int, error) {
	b, err := hex.DecodeString(s)
	if err != nil {
		return 0, err
	}
	if len(b) == len(m) {
		copy(m[:], b)
	}
	return len(b), nil
}

// parseState reads a state as __print_symbolic prints it: the name of a
// NUD state, or the raw value in hex ("0x0") when it has no name.
func parseState(s string) (neigh.State, error) {
	if h, ok := strings.CutPrefix(strings.ToLower(s), "0x"); ok {
		v, err := strconv.ParseUint(h, 16, 8)
		if err != nil {
			return 0, fmt.Errorf("lab: bad neighbour state %q: %w", s, err)
		}
		return neigh.State(v), nil
	}
	return neigh.ParseState(s)
}

func parseHex8(s string) (uint8, error) {
	u, err := strconv.ParseUint(s, 16, 8)
	return uint8(u), err
}
