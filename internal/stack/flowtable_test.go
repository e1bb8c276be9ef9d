package stack

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"testing"

	"pgregory.net/rapid"

	"arplab/internal/neigh"
	"arplab/internal/testkit"
	"arplab/internal/wire/ipv4"
)

// flowKeys draws keys from a small space (few addresses and ports), so
// that sequences revisit keys and keys share their remote part.
func flowKeys() *rapid.Generator[FlowKey] {
	return rapid.Custom(func(t *rapid.T) FlowKey {
		return FlowKey{
			Proto:  rapid.SampledFrom([]uint8{ipv4.ProtoTCP, ipv4.ProtoUDP, 1}).Draw(t, "proto"),
			Local:  [4]byte{10, 0, 0, rapid.ByteRange(1, 2).Draw(t, "local")},
			Remote: [4]byte{10, 0, rapid.ByteRange(0, 1).Draw(t, "net"), rapid.ByteRange(1, 12).Draw(t, "remote")},
			LPort:  rapid.Uint16Range(40000, 40003).Draw(t, "lport"),
			RPort:  rapid.SampledFrom([]uint16{22, 80}).Draw(t, "rport"),
		}
	})
}

// TestFlowTableAsMap: any sequence of adds, lookups and drops leaves the
// table holding what a Go map given the same operations holds: every
// flow found by its key, none found that was dropped or never added,
// each visiting every flow once, and the same order for the same
// operations (two tables built alike iterate alike).
func TestFlowTableAsMap(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var tb, twin flowTable
		model := map[FlowKey]*Flow{}
		keyOf := map[*Flow]FlowKey{}
		for i, n := 0, rapid.IntRange(0, 300).Draw(t, "ops"); i < n; i++ {
			k := flowKeys().Draw(t, "key")
			hi, lo := k.words()
			switch op := rapid.IntRange(0, 9).Draw(t, "op"); {
			case op < 6: // add if absent, as Host.flow does
				if tb.get(hi, lo) == nil {
					f, g := &Flow{Sock: flowSockOf(k)}, &Flow{Sock: flowSockOf(k)}
					tb.put(hi, lo, f)
					twin.put(hi, lo, g)
					model[k], keyOf[f], keyOf[g] = f, k, k
				}
			case op < 9:
				if got, want := tb.get(hi, lo), model[k]; got != want {
					t.Fatalf("get %v: %p, want %p", k, got, want)
				}
			default: // drop flows by a drawn rule, as forgetFlows does
				drop := rapid.Uint16().Draw(t, "drop")
				gone := func(f *Flow) bool { k := keyOf[f]; return drop>>((k.Remote[3]+k.Proto+byte(k.LPort))%16)&1 == 1 }
				tb.keep(func(f *Flow) bool { return !gone(f) })
				twin.keep(func(f *Flow) bool { return !gone(f) })
				for k, f := range model {
					if gone(f) {
						delete(model, k)
					}
				}
			}
		}
		checkTable(t, &tb, model)
		var a, b []string
		tb.each(func(f *Flow) { a = append(a, f.Sock.Name) })
		twin.each(func(f *Flow) { b = append(b, f.Sock.Name) })
		if !slices.Equal(a, b) {
			t.Fatalf("two tables built alike iterate differently:\n%v\n%v", a, b)
		}
	})
}

// flowSockOf is a socket named by its key, so a flow says which key it
// was added under.
func flowSockOf(k FlowKey) neigh.Socket { return neigh.Socket{Name: k.String()} }

// checkTable compares the table with the model: same flows, each found
// by its key, n the count, each visiting each flow once.
func checkTable(t interface {
	Fatalf(string, ...any)
}, tb *flowTable, model map[FlowKey]*Flow) {
	for k, f := range model {
		if got := tb.get(k.words()); got != f {
			t.Fatalf("get %v: %p, want %p", k, got, f)
		}
	}
	seen := map[*Flow]bool{}
	tb.each(func(f *Flow) {
		if seen[f] {
			t.Fatalf("each visits %s twice", f.Sock.Name)
		}
		seen[f] = true
	})
	if len(seen) != len(model) || tb.n != len(model) {
		t.Fatalf("table holds %d flows (n %d), want %d", len(seen), tb.n, len(model))
	}
	if len(tb.e) > 0 && 2*tb.n > len(tb.e) {
		t.Fatalf("%d flows in %d entries: more than half full", tb.n, len(tb.e))
	}
}

// TestFlowTableCollisions: keys with the same hash (hi^lo equal) all sit
// in one run of entries; each is found, a missing key with that hash is
// not, and dropping some (the rebuild forgetFlows does) leaves the rest
// findable, past the gaps the dropped ones leave.
func TestFlowTableCollisions(t *testing.T) {
	var tb flowTable
	var c uint64 = 0x0a00000140009c40 // every key's hi^lo
	flows := map[uint64]*Flow{}
	for i := uint64(1); i <= 40; i++ {
		hi := i << 40
		f := &Flow{Sock: flowSockOf(FlowKey{LPort: uint16(i)})}
		tb.put(hi, hi^c, f)
		flows[hi] = f
	}
	home := (c * fibonacci) >> tb.shift
	for hi, f := range flows {
		if got := tb.get(hi, hi^c); got != f {
			t.Fatalf("key %#x: %v, want %v", hi, got, f)
		}
	}
	if f := tb.get(99<<40, 99<<40^c); f != nil {
		t.Fatalf("a key never added, of the same hash, found %s", f.Sock.Name)
	}
	if tb.e[home].f == nil {
		t.Fatalf("no flow at the keys' home entry %d", home)
	}
	tb.keep(func(f *Flow) bool { return f.Sock.Name[len(f.Sock.Name)-1]%3 != 0 })
	for hi, f := range flows {
		got := tb.get(hi, hi^c)
		if kept := f.Sock.Name[len(f.Sock.Name)-1]%3 != 0; kept != (got == f) || (!kept && got != nil) {
			t.Fatalf("key %#x after the drop: %v (kept %v)", hi, got, kept)
		}
	}
}

// TestFlowKeyString: the socket names built by appending are fmt's
// spelling of the key.
func TestFlowKeyString(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		k := FlowKey{
			Proto:  rapid.Uint8().Draw(t, "proto"),
			Local:  [4]byte(rapid.SliceOfN(rapid.Byte(), 4, 4).Draw(t, "local")),
			Remote: [4]byte(rapid.SliceOfN(rapid.Byte(), 4, 4).Draw(t, "remote")),
			LPort:  rapid.Uint16().Draw(t, "lport"),
			RPort:  rapid.Uint16().Draw(t, "rport"),
		}
		if rapid.Bool().Draw(t, "tcp or udp") {
			k.Proto = rapid.SampledFrom([]uint8{ipv4.ProtoTCP, ipv4.ProtoUDP}).Draw(t, "transport")
		}
		l, r := netip.AddrFrom4(k.Local), netip.AddrFrom4(k.Remote)
		want := fmt.Sprintf("proto%d %v>%v", k.Proto, l, r)
		switch k.Proto {
		case ipv4.ProtoTCP:
			want = fmt.Sprintf("tcp %v:%d>%v:%d", l, k.LPort, r, k.RPort)
		case ipv4.ProtoUDP:
			want = fmt.Sprintf("udp %v:%d>%v:%d", l, k.LPort, r, k.RPort)
		}
		if got := k.String(); got != want {
			t.Fatalf("%q, want %q", got, want)
		}
	})
}

// refHost is the host's sockets as a plain map with the bound of
// MaxFlows: what Host.flow and forgetFlows did before the flow table.
type refHost struct {
	socks     map[FlowKey]uint64 // last use
	use       uint64
	max       int
	forgotten int
}

func (r *refHost) flow(k FlowKey) {
	if _, ok := r.socks[k]; !ok {
		if len(r.socks) >= r.max {
			all := make([]FlowKey, 0, len(r.socks))
			for k := range r.socks {
				all = append(all, k)
			}
			slices.SortFunc(all, func(a, b FlowKey) int { return cmp.Compare(r.socks[a], r.socks[b]) })
			for _, k := range all[:len(all)/2] {
				delete(r.socks, k)
			}
			r.forgotten += len(all) / 2
		}
	}
	r.use++
	r.socks[k] = r.use
}

// TestFlowsForgottenAsMap: a host bounded to a few sockets, sending and
// receiving on drawn flows, keeps exactly the sockets and counts exactly
// the forgotten ones that the map version would, the same socket found
// again for a key it kept.
func TestFlowsForgottenAsMap(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		h, d, _ := newHost(t, "latest")
		h.flows.max = rapid.IntRange(1, 12).Draw(t, "max")
		ref := &refHost{socks: map[FlowKey]uint64{}, max: h.flows.max}
		socks := map[FlowKey]*Flow{}
		for i, n := 0, rapid.IntRange(1, 200).Draw(t, "ops"); i < n; i++ {
			k := flowKeys().Draw(t, "key")
			k.Proto = ipv4.ProtoTCP
			k.Local = ipHost.As4()
			if rapid.IntRange(0, 3).Draw(t, "op") == 0 { // an ACK received: a use, if followed
				seg := testkit.TCP(netip.AddrFrom4(k.Remote), ipHost, k.RPort, k.LPort, 1, 1, ipv4.FlagACK, 0)
				hd, _ := ipv4.Parse(seg)
				h.ReceiveIPv4(&hd, hd.Payload(seg), i)
				if _, ok := ref.socks[k]; ok {
					ref.use++
					ref.socks[k] = ref.use
				}
			} else {
				seg := testkit.TCP(ipHost, netip.AddrFrom4(k.Remote), k.LPort, k.RPort, 1, 1, ipv4.FlagACK, 100)
				hd, _ := ipv4.Parse(seg)
				h.SentIPv4(&hd, hd.Payload(seg), d.Routes[0])
				ref.flow(k)
			}
			if h.FlowsForgotten() != ref.forgotten || h.flows.n != len(ref.socks) {
				t.Fatalf("op %d: %d forgotten, %d followed; the map version %d, %d", i, h.FlowsForgotten(), h.flows.n, ref.forgotten, len(ref.socks))
			}
			for k := range socks {
				f := h.lookupFlow(k)
				if _, kept := ref.socks[k]; kept != (f != nil) || (kept && f != socks[k]) {
					t.Fatalf("op %d: %v kept %v by the map version, found %p (was %p)", i, k, kept, f, socks[k])
				}
				if f == nil {
					delete(socks, k)
				}
			}
			for k := range ref.socks {
				socks[k] = h.lookupFlow(k)
			}
		}
	})
}
