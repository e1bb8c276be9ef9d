//go:build linux

package doctor

import (
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"arplab/internal/kernel"
	"arplab/internal/live/livetest"
)

// TestInspectNamespace sets sysctls inside a throwaway namespace and checks
// that Inspect reads that namespace (not the host) and that the advice
// follows from what it read.
func TestInspectNamespace(t *testing.T) {
	p := livetest.NewPair(t)
	ns, dev := p.Observer, p.ObserverDev
	livetest.Sysctl(t, ns, "net/ipv4/conf/"+dev+"/arp_accept", "2")
	livetest.Sysctl(t, ns, "net/ipv4/conf/"+dev+"/drop_gratuitous_arp", "1")
	livetest.Sysctl(t, ns, "net/ipv4/neigh/"+dev+"/locktime", "50")
	livetest.Sysctl(t, ns, "net/ipv4/neigh/"+dev+"/base_reachable_time_ms", "120000")

	r, err := Inspect(ns)
	if err != nil {
		t.Fatalf("Inspect(%s): %v", ns, err)
	}
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		t.Fatal(err)
	}
	if want := unix.ByteSliceToString(u.Release[:]); r.Release != want {
		t.Errorf("Release = %q, want %q", r.Release, want)
	}
	if want := kernel.Closest(r.Release).Name; r.Profile != want {
		t.Errorf("Profile = %q, want kernel.Closest = %q", r.Profile, want)
	}
	if len(r.Interfaces) != 1 || r.Interfaces[0].Name != dev || r.Interfaces[0].MAC != livetest.ObserverMAC.String() ||
		len(r.Interfaces[0].Addrs) != 1 || r.Interfaces[0].Addrs[0] != "10.99.0.1/24" {
		t.Errorf("Interfaces = %+v, want only %s with %v and 10.99.0.1/24", r.Interfaces, dev, livetest.ObserverMAC)
	}
	for _, c := range []struct {
		got  Setting
		want string
	}{
		{r.Conf[dev]["arp_accept"], "2"},
		{r.Conf[dev]["drop_gratuitous_arp"], "1"},
		{r.Conf["all"]["arp_accept"], "0"},
		{r.Neigh[dev]["locktime"], "50"},
		{r.Neigh["default"]["locktime"], "100"},
		{r.GC["gc_thresh1"], "128"},
	} {
		if c.got.Value != c.want || c.got.State != "" {
			t.Errorf("%s = %+v, want %s", c.got.Path, c.got, c.want)
		}
	}
	if r.DefaultsFrom == "" {
		t.Errorf("neigh/default was read without saying it came from outside namespace %s", ns)
	}
	if _, err := os.Stat("/proc/config.gz"); err == nil && r.HZ == 0 {
		t.Errorf("HZ not detected although /proc/config.gz exists")
	}

	advice := Advise(r)
	checks := []struct{ mech, severity, finding string }{
		{MechDropGratuitous, SeverityCritical, "drop_gratuitous_arp is on for o0"},
		{MechLocktime, "", "locktime on o0 is 50 (0.5s)"},
		{MechReachableTime, SeverityWarning, "base_reachable_time_ms on o0 is 120000"},
		{MechARPAccept, "", "arp_accept is 2 on o0"},
	}
	for _, c := range checks {
		a, ok := find(advice, c.mech, dev)
		if !ok {
			t.Errorf("no %s advice for %s; got %v", c.mech, dev, Mechanisms(advice))
			continue
		}
		if (c.severity != "" && a.Severity != c.severity) || !strings.Contains(a.Finding, c.finding) {
			t.Errorf("%s advice = %s %q, want %s containing %q", c.mech, a.Severity, a.Finding, c.severity, c.finding)
		}
	}

	// The sender namespace is untouched: its own device, default settings.
	rs, err := Inspect(p.Sender)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs.Interfaces) != 1 || rs.Interfaces[0].Name != p.SenderDev {
		t.Errorf("sender Interfaces = %+v, want only %s", rs.Interfaces, p.SenderDev)
	}
	if v := rs.Conf[p.SenderDev]["arp_accept"].Value; v != "0" {
		t.Errorf("sender arp_accept = %q, want 0: Inspect read the wrong namespace", v)
	}
	if _, ok := rs.Conf[dev]; ok {
		t.Errorf("sender report has settings for the observer's %s", dev)
	}
}
