package scenario

import (
	"strings"
	"testing"
)

const ndBase = `name: nd
duration: 2s
segments: [{name: lan}]
hosts:
  - name: obs
    interfaces: [{name: eth0, segment: lan, mac: "02:00:00:00:00:01", addrs: [2001:db8::1/64]}]
stations:
  - {name: st, segment: lan, mac: "02:00:00:00:00:bb", ips: [2001:db8::b]}
script:
`

func TestNDAction(t *testing.T) {
	s, err := Parse([]byte(ndBase+`  - {at: 1s, nd: {from: st, type: na, target: 2001:db8::b, override: true}}
  - {at: 1.5s, nd: {from: st, type: ns, target: 2001:db8::1, src: "::"}}
  - {at: 1.6s, nd: {from: st, type: na, target: 2001:db8::b, no_lladdr: true, solicited: true, dst: 2001:db8::1}}
  - {at: 1.7s, sysctl: {host: obs, key: net.ipv6.conf.eth0.accept_untracked_na, value: "2"}}
  - {at: 1.7s, sysctl: {host: obs, key: net.ipv6.neigh.eth0.locktime, value: "1000"}}
checks:
  - {at: 1.2s, host: obs, ip: 2001:db8::b, state: STALE, lladdr: "02:00:00:00:00:bb"}
`), "nd.yaml")
	if err != nil {
		t.Fatal(err)
	}
	na, dad, bare := s.Script[0].ND, s.Script[1].ND, s.Script[2].ND
	st := s.Stations[0].MAC.MAC
	if ll, ok := na.OptionLL(st); !ok || ll != st || na.Hops() != 255 || na.IsDAD() {
		t.Errorf("NA defaults: option %v %v, hops %d, dad %v", ll, ok, na.Hops(), na.IsDAD())
	}
	if _, ok := dad.OptionLL(st); ok || !dad.IsDAD() {
		t.Errorf("a DAD NS has an SLLAO or is not DAD")
	}
	if _, ok := bare.OptionLL(st); ok {
		t.Errorf("no_lladdr still has an option")
	}
	if s.Checks[0].IP.String() != "2001:db8::b" || s.Hosts[0].Interfaces[0].Addrs[0].Bits() != 64 {
		t.Errorf("IPv6 check or address not parsed: %v %v", s.Checks[0].IP, s.Hosts[0].Interfaces[0].Addrs)
	}
	for _, tc := range []struct{ item, want string }{
		{`{at: 1s, nd: {from: nobody, type: na, target: 2001:db8::b}}`, `nd from "nobody": no such station`},
		{`{at: 1s, nd: {from: st, type: rs, target: 2001:db8::b}}`, `type "rs" (want na or ns)`},
		{`{at: 1s, nd: {from: st, type: na, target: 10.0.0.1}}`, `not a unicast IPv6 address`},
		{`{at: 1s, nd: {from: st, type: na, target: "ff02::1"}}`, `not a unicast IPv6 address`},
		{`{at: 1s, nd: {from: st, type: ns, target: 2001:db8::1, override: true}}`, `an NS has none`},
		{`{at: 1s, nd: {from: st, type: ns, target: 2001:db8::1, src: "::", lladdr: "02:00:00:00:00:cc"}}`, `carries no source link-layer option`},
		{`{at: 1s, nd: {from: st, type: na, target: 2001:db8::b, hop_limit: 256}}`, `hop_limit 256`},
		{`{at: 1s, nd: {from: st, type: na, target: "fe80::1%eth0"}}`, `is not an IPv4 or IPv6 address`},
	} {
		_, err := Parse([]byte(ndBase+"  - "+tc.item+"\n"), "bad.yaml")
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "bad.yaml:") {
			t.Errorf("%s: error %v, want bad.yaml:…%s", tc.item, err, tc.want)
		}
	}
}
