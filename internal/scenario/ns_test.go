package scenario

import (
	"strings"
	"testing"
)

const nsBase = `name: ns
duration: 2s
segments: [{name: lan}]
hosts:
  - name: obs
    interfaces: [{name: eth0, segment: lan, mac: "02:00:00:00:00:01", addrs: ["2001:db8::1/64"]}]
stations:
  - {name: st, segment: lan, mac: "02:00:00:00:00:bb", ips: ["2001:db8::b"]}
script:
`

func TestNSAction(t *testing.T) {
	s, err := Parse([]byte(nsBase+`  - {at: 1s, ns: {from: st, target: "2001:db8::1"}}
  - {at: 1.5s, ns: {from: st, target: "2001:db8::1", src: "::"}}
  - {at: 1.6s, ns: {from: st, target: "2001:db8::1", no_lladdr: true, dst: "2001:db8::1", hop_limit: 64}}
  - {at: 1.7s, ns: {from: st, target: "2001:db8::1", lladdr: "02:00:00:00:00:cc"}}
`), "ns.yaml")
	if err != nil {
		t.Fatal(err)
	}
	plain, dad, bare, other := s.Script[0].NS, s.Script[1].NS, s.Script[2].NS, s.Script[3].NS
	st := s.Stations[0].MAC.MAC
	if ll, ok := plain.OptionLL(st); !ok || ll != st || plain.Hops() != 255 || plain.IsDAD() {
		t.Errorf("NS defaults: option %v %v, hops %d, dad %v", ll, ok, plain.Hops(), plain.IsDAD())
	}
	if _, ok := dad.OptionLL(st); ok || !dad.IsDAD() {
		t.Errorf("a DAD NS has an SLLAO or is not DAD")
	}
	if _, ok := bare.OptionLL(st); ok || bare.Hops() != 64 {
		t.Errorf("no_lladdr still has an option, or hop_limit %d", bare.Hops())
	}
	if ll, ok := other.OptionLL(st); !ok || ll.String() != "02:00:00:00:00:cc" {
		t.Errorf("lladdr: option %v %v", ll, ok)
	}
	for _, tc := range []struct{ item, want string }{
		{`{at: 1s, ns: {from: nobody, target: "2001:db8::1"}}`, `ns from "nobody": no such station`},
		{`{at: 1s, ns: {from: obs, target: "2001:db8::1"}}`, `ns from "obs": no such station`},
		{`{at: 1s, ns: {from: st, target: 10.0.0.1}}`, `not a unicast IPv6 address`},
		{`{at: 1s, ns: {from: st, target: "ff02::1"}}`, `not a unicast IPv6 address`},
		{`{at: 1s, ns: {from: st, target: "2001:db8::1", src: 10.0.0.9}}`, `src 10.0.0.9 is not an IPv6 address`},
		{`{at: 1s, ns: {from: st, target: "2001:db8::1", src: "::", lladdr: "02:00:00:00:00:cc"}}`, `carries no source link-layer option`},
		{`{at: 1s, ns: {from: st, target: "2001:db8::1", lladdr: "02:00:00:00:00:cc", no_lladdr: true}}`, `contradict`},
		{`{at: 1s, ns: {from: st, target: "2001:db8::1", hop_limit: 256}}`, `hop_limit 256`},
		{`{at: 1s, ns: {from: st, target: "2001:db8::1"}, sysctl: {host: obs, key: conf.eth0.arp_accept, value: "1"}}`, `exactly one of`},
	} {
		_, err := Parse([]byte(nsBase+"  - "+tc.item+"\n"), "bad.yaml")
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "bad.yaml:") {
			t.Errorf("%s: error %v, want bad.yaml:…%s", tc.item, err, tc.want)
		}
	}
}
