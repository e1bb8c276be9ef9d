//go:build linux

package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"arplab/internal/live/livetest"
)

// TestAdviseDoctorDirectory is issue 16's third form of FLEET with real
// doctor output: `arplab doctor --json --netns` run on two throwaway
// namespaces (one left at the defaults, one with arp_accept and locktime
// changed, as an operator's host would be) and on a third identical to the
// first, the three files gathered in a directory, and `arplab advise
// --fleet DIR` reading them. The two default hosts make one group of two,
// the tuned host its own group, carrying the sysctls doctor read.
func TestAdviseDoctorDirectory(t *testing.T) {
	dir := t.TempDir()
	doctorJSON := func(name string, tune bool) {
		p := livetest.NewPair(t)
		if tune {
			livetest.Sysctl(t, p.Observer, "net/ipv4/conf/"+p.ObserverDev+"/arp_accept", "1")
			livetest.Sysctl(t, p.Observer, "net/ipv4/neigh/"+p.ObserverDev+"/locktime", "50")
		}
		out, errs, code := run(t, "doctor", "--json", "--netns", p.Observer)
		if code != ExitOK {
			t.Fatalf("doctor --netns %s: exit %d: %s", p.Observer, code, errs)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	doctorJSON("web1.json", false)
	doctorJSON("web2.json", false)
	doctorJSON("tuned.json", true)

	out, errs, code := run(t, "advise", "--fleet", dir, "--announcer", "keepalived", "--json")
	if code != ExitOK && code != ExitExpected {
		t.Fatalf("advise --fleet %s: exit %d: %s", dir, code, errs)
	}
	var doc struct {
		Fleet struct {
			Groups []struct {
				Name    string            `json:"name"`
				Profile string            `json:"profile"`
				Release string            `json:"release"`
				Share   float64           `json:"share"`
				Hosts   int               `json:"hosts"`
				Sysctls map[string]string `json:"sysctls"`
			} `json:"groups"`
		} `json:"fleet"`
		Defaults []struct {
			Groups []struct {
				Group string `json:"group"`
				Runs  int    `json:"runs"`
			} `json:"groups"`
		} `json:"defaults"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("advise --json: %v\n%s", err, out)
	}
	gs := doc.Fleet.Groups
	if len(gs) != 2 {
		t.Fatalf("%d groups from 3 doctor reports (2 identical), want 2: %+v", len(gs), gs)
	}
	byHosts := map[int]int{gs[0].Hosts: 0, gs[1].Hosts: 1}
	two, ok2 := byHosts[2]
	one, ok1 := byHosts[1]
	if !ok1 || !ok2 {
		t.Fatalf("hosts per group %d and %d, want 2 and 1", gs[0].Hosts, gs[1].Hosts)
	}
	if s := gs[two].Share; s < 0.66 || s > 0.67 {
		t.Errorf("share of the merged pair = %v, want 2/3", s)
	}
	for i, g := range gs {
		if g.Profile == "" || g.Release == "" {
			t.Errorf("group %s: profile %q release %q", g.Name, g.Profile, g.Release)
		}
		wantAccept, wantLock := "0", "100"
		if i == one {
			wantAccept, wantLock = "1", "50"
		}
		if g.Sysctls["conf.eth0.arp_accept"] != wantAccept || g.Sysctls["neigh.eth0.locktime"] != wantLock {
			t.Errorf("group %s: arp_accept %q locktime %q, want %s and %s (what doctor read)",
				g.Name, g.Sysctls["conf.eth0.arp_accept"], g.Sysctls["neigh.eth0.locktime"], wantAccept, wantLock)
		}
	}
	if len(doc.Defaults) != 1 || len(doc.Defaults[0].Groups) != 2 || doc.Defaults[0].Groups[0].Runs == 0 {
		t.Errorf("the default was not simulated on both groups: %+v", doc.Defaults)
	}
}
