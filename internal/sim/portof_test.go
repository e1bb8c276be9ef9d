package sim

import (
	"fmt"
	"testing"

	"arplab/internal/neigh"
	"arplab/internal/wire/arp"
)

type macPort arp.MAC

func (p *macPort) mac() arp.MAC                  { return arp.MAC(*p) }
func (p *macPort) receive(*frame, neigh.PktType) {}

// TestPortOf: a segment finds the port that owns a MAC (the last of two
// that share one, as a learning switch would) whether MACs share their
// last byte or not, and no port for a MAC nobody has, with few ports
// (looked up by last byte) and many (a map).
func TestPortOf(t *testing.T) {
	for _, n := range []int{1, 3, scanPorts, scanPorts + 1, 40} {
		g := &segment{}
		var macs []arp.MAC
		for i := 0; i < n; i++ {
			m := arp.MAC{2, 0, 0, 0, byte(i), byte(i % 5)} // last bytes repeat
			macs = append(macs, m)
			p := macPort(m)
			g.ports = append(g.ports, &p)
		}
		// a second port with the first port's MAC
		dup := macPort(macs[0])
		g.ports = append(g.ports, &dup)
		for i, m := range macs {
			p, ok := g.portOf(m)
			want := g.ports[i]
			if i == 0 {
				want = &dup
			}
			if !ok || p != want {
				t.Fatalf("n=%d: portOf(%v) = %v, %v; want port %d", n, m, p, ok, i)
			}
		}
		for _, m := range []arp.MAC{{2, 0, 0, 0, 0xee, 0}, {2, 0, 0, 0, 0, 0xee}, {9, 9, 9, 9, 9, 9}} {
			if p, ok := g.portOf(m); ok {
				t.Fatalf("n=%d: portOf(%v) found %v", n, m, fmt.Sprint(p))
			}
		}
	}
}
