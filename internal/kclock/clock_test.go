package kclock

import (
	"strings"
	"testing"
	"time"
)

func TestFit(t *testing.T) {
	const hz = 250
	tick := int64(4e6)
	grid := int64(1_000_123_456) // start of jiffy 5000
	var samples []Sample
	// Samples 0 to 3.9 ms after each edge of jiffies 5000..5009.
	for j := uint64(5000); j < 5010; j++ {
		for _, off := range []int64{30e3, 1e6, 2.5e6, 3.95e6} {
			samples = append(samples, Sample{Ns: grid + int64(j-5000)*tick + off, J: j})
		}
	}
	c, err := Fit(hz, samples)
	if err != nil {
		t.Fatal(err)
	}
	if c.Misfits != 0 || c.Spread != 0 {
		t.Errorf("fit %+v: misfits or spread on consistent samples", c)
	}
	if d := c.StartNs(5000) - grid; d < -50e3 || d > 30e3 {
		t.Errorf("grid placed %v from the truth", time.Duration(d))
	}
	if got := c.Jiffies(grid + 7*tick + 2e6); got != 5007 {
		t.Errorf("Jiffies = %d, want 5007", got)
	}
	if got := c.Jiffies(grid - 1e6); got != 4999 {
		t.Errorf("Jiffies before the reference = %d, want 4999", got)
	}
	if e := c.Edge(c.StartNs(5003) + 100e3); e != 100*time.Microsecond {
		t.Errorf("Edge = %v, want 100µs", e)
	}
	if u := c.Uncertainty(); u <= 0 || u > 50*time.Microsecond {
		t.Errorf("Uncertainty = %v", u)
	}
	// A late tick: jiffy 5005 began 300 µs late, so a sample 100 µs after
	// the grid still reads 5004.
	late := append(samples, Sample{Ns: grid + 5*tick + 100e3, J: 5004})
	c, _ = Fit(hz, late)
	if c.Spread == 0 || c.Misfits == 0 {
		t.Errorf("a late tick should show as spread and misfit: %+v", c)
	}
	if _, err := Fit(hz, nil); err == nil {
		t.Error("Fit(nil) succeeded")
	}
}

func TestClockHZ300(t *testing.T) {
	c := Clock{HZ: 300, RefJ: 10, RefNs: 0}
	if c.TickNs() != 3333333 {
		t.Fatalf("TICK_NSEC at 300 = %d", c.TickNs())
	}
	if c.Jiffies(3333333*3+1) != 13 {
		t.Errorf("Jiffies = %d", c.Jiffies(3333333*3+1))
	}
}
func TestRoundHZ(t *testing.T) {
	for rate, want := range map[float64]int{249.1: 250, 99: 100, 1003: 1000, 301: 300, 500: 500, 24: 24} {
		if got := RoundHZ(rate); got != want {
			t.Errorf("RoundHZ(%v) = %d, want %d", rate, got, want)
		}
	}
}

func TestConfigHZ(t *testing.T) {
	hz, err := configHZ(strings.NewReader("# CONFIG_HZ_100 is not set\nCONFIG_HZ_250=y\nCONFIG_HZ=250\n"))
	if err != nil || hz != 250 {
		t.Errorf("configHZ = %d, %v; want 250", hz, err)
	}
	if _, err := configHZ(strings.NewReader("CONFIG_X=y\n")); err == nil {
		t.Error("configHZ without CONFIG_HZ succeeded")
	}
}
