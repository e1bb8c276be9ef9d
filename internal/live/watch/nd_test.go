package watch

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"arplab/internal/trace"
	"arplab/internal/wire/ether"
	"arplab/internal/wire/ndisc"
)

var vip6 = netip.MustParseAddr("2001:db8::100")

// naObs is a received NA for vip6 carrying mac, O as given.
func naObs(at time.Time, override bool, hlim uint8) *obs {
	m := &ndisc.Message{HopLimit: hlim, Src: vip6, Dst: ndisc.AllNodes, Type: ndisc.TypeNeighborAdvertisement,
		Target: vip6, Override: override, TargetLL: macNew, HasTargetLL: true}
	return &obs{at: at, frame: &frameObs{dev: "o0", pktType: ether.PktMulticast, ethDst: ndisc.AllNodesMAC, ethSrc: macNew, nd: m}}
}

func change6(at time.Time, lladdr, state string) *obs {
	return &obs{at: at, neigh: &neighObs{dev: "o0", ip: vip6, lladdr: lladdr, state: state}}
}

type ndRecorder struct {
	nopObserver
	verdicts []NDVerdict
	probes   int
}

func (r *ndRecorder) ND(v NDVerdict)       { r.verdicts = append(r.verdicts, v) }
func (r *ndRecorder) NDProbe(string, bool) { r.probes++ }
func (r *ndRecorder) Probe(dev string, u bool) {
	panic("an ND solicitation reached the ARP probe counter")
}

// TestNDVerdicts: the ND rules the watcher applies when nothing in nd_tbl
// changed (ndisc §4.1–§4.4), and the changes it ties to an NA: override
// (honoured, the change caused by it), weak override (REACHABLE → STALE
// with the old MAC, tied to the non-override NA).
func TestNDVerdicts(t *testing.T) {
	cases := []struct {
		name    string
		seed    []neighObs
		in      []*obs
		verdict string
		reason  string
		expl    string
	}{
		{"no entry", nil, []*obs{naObs(ms(0), true, 255)}, trace.Dropped, "no entry", "never creates one on a host"},
		{"FAILED", []neighObs{{dev: "o0", ip: vip6, state: "FAILED"}}, []*obs{naObs(ms(0), true, 255)},
			trace.Ignored, "failed", "ignores every NA"},
		{"hop limit", []neighObs{{dev: "o0", ip: vip6, lladdr: old, state: "STALE"}}, []*obs{naObs(ms(0), true, 64)},
			trace.Dropped, "hop limit", "hop limit 64"},
		{"non-override from STALE", []neighObs{{dev: "o0", ip: vip6, lladdr: old, state: "STALE"}}, []*obs{naObs(ms(0), false, 255)},
			trace.Ignored, "non-override", "leaves STALE entries alone"},
		{"override honoured", []neighObs{{dev: "o0", ip: vip6, lladdr: old, state: "REACHABLE"}},
			[]*obs{naObs(ms(0), true, 255), change6(ms(0.2), new, "STALE")}, trace.Honoured, "", "REACHABLE 02:00:00:00:00:aa → STALE 02:00:00:00:00:bb"},
		{"weak override", []neighObs{{dev: "o0", ip: vip6, lladdr: old, state: "REACHABLE"}},
			[]*obs{naObs(ms(0), false, 255), change6(ms(0.2), old, "STALE")}, trace.Ignored, "non-override", "weak override"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := &ndRecorder{}
			var got []trace.Event
			co := newCorrelator(t0, 0, "observer", func(e trace.Event) {
				if err := e.Validate(); err != nil {
					t.Errorf("invalid event %+v: %v", e, err)
				}
				got = append(got, e)
			})
			co.ob = r
			co.seed(c.seed)
			for _, o := range c.in {
				co.add(o)
			}
			co.flush(t0.Add(time.Hour), true)
			var nd *trace.Event
			for i := range got {
				if got[i].Kind == trace.KindND {
					nd = &got[i]
				}
			}
			if nd == nil || nd.Verdict != c.verdict || !strings.Contains(nd.Explanation, c.expl) || nd.ND == nil || nd.ND.Type != "NA" {
				t.Fatalf("nd event %+v, want %s explaining %q", nd, c.verdict, c.expl)
			}
			if len(r.verdicts) != 1 || r.verdicts[0].Reason != c.reason || r.verdicts[0].Target != vip6 {
				t.Errorf("observer got %+v, want one verdict with reason %q", r.verdicts, c.reason)
			}
			for _, e := range got {
				if e.Kind == trace.KindState && c.name == "weak override" && (e.Cause != "na" || e.Frame != nd.Frame) {
					t.Errorf("weak override change %+v, want caused by the NA (frame %d)", e, nd.Frame)
				}
				if e.Kind == trace.KindState && c.name == "override honoured" && (e.Cause != "na-override" || e.Frame != nd.Frame) {
					t.Errorf("override change %+v, want caused by the NA (frame %d)", e, nd.Frame)
				}
			}
		})
	}
}

// TestNDProbeAndDAD: an NS this host sends is an ND probe (never an ARP
// one); a DAD NS received touches no entry.
func TestNDProbeAndDAD(t *testing.T) {
	r := &ndRecorder{}
	var got []trace.Event
	co := newCorrelator(t0, 0, "observer", func(e trace.Event) { got = append(got, e) })
	co.ob = r
	ns := &ndisc.Message{HopLimit: 255, Src: netip.MustParseAddr("2001:db8::1"), Dst: vip6, Type: ndisc.TypeNeighborSolicitation,
		Target: vip6, SourceLL: macMe, HasSourceLL: true}
	dad := &ndisc.Message{HopLimit: 255, Src: netip.IPv6Unspecified(), Dst: ndisc.SolicitedNode(vip6), Type: ndisc.TypeNeighborSolicitation, Target: vip6}
	co.add(&obs{at: ms(0), frame: &frameObs{dev: "o0", pktType: ether.PktOutgoing, ethDst: macOld, nd: ns}})
	co.add(&obs{at: ms(1), frame: &frameObs{dev: "o0", pktType: ether.PktMulticast, ethDst: ndisc.MulticastMAC(dad.Dst), nd: dad}})
	co.flush(t0.Add(time.Hour), true)
	if r.probes != 1 || len(got) != 2 || got[0].Kind != trace.KindProbe || got[1].Cause != "dad-ns" || got[1].Verdict != trace.Honoured {
		t.Errorf("probes %d, events %+v", r.probes, got)
	}
}
