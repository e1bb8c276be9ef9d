package vtime

import "testing"

func TestClockQuantisesToTicks(t *testing.T) {
	c, err := NewClock(1000, 500, 250*Microsecond)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range []struct {
		t    Time
		want Jiffies
	}{{0, 500}, {Time(749 * Microsecond), 500}, {Time(750 * Microsecond), 501}, {Time(Second), 1500}, {Time(-250 * Microsecond), 500}, {Time(-251 * Microsecond), 499}} {
		if got := c.Jiffies(x.t); got != x.want {
			t.Errorf("Jiffies(%v) = %d, want %d", x.t, got, x.want)
		}
	}
	// TimeOf is the first instant of a tick.
	for j := Jiffies(490); j < 520; j++ {
		at := c.TimeOf(j)
		if c.Jiffies(at) != j || c.Jiffies(at-1) != j-1 {
			t.Fatalf("TimeOf(%d) = %v is not the start of the tick", j, at)
		}
	}
	if _, err := NewClock(333, 0, 0); err == nil {
		t.Error("HZ=333 accepted")
	}
	if _, err := NewClock(250, 0, 4*Millisecond); err == nil {
		t.Error("phase of a whole tick accepted")
	}
}

func TestTimeAfterIsWrapSafeAndStrict(t *testing.T) {
	top := ^Jiffies(0)
	if !After(top+5, top-5) || After(top-5, top+5) {
		t.Error("After across the wrap")
	}
	if After(7, 7) || !AfterEq(7, 7) || Before(7, 7) || !BeforeEq(7, 7) {
		t.Error("strictness")
	}
	if Since(2, top) != 3 {
		t.Errorf("Since across wrap = %d", Since(2, top))
	}
}

func TestFormatSeconds(t *testing.T) {
	for ns, want := range map[int64]string{0: "0s", 1_500_000_000: "1.5s", 10_200_300_000: "10.2003s", -2_000_000_000: "-2s"} {
		if got := FormatSeconds(ns); got != want {
			t.Errorf("FormatSeconds(%d) = %s, want %s", ns, got, want)
		}
	}
}

// TestClockLongRuns: conversions stay exact far beyond the 106 days at
// which ns·HZ overflows int64.
func TestClockLongRuns(t *testing.T) {
	c, _ := NewClock(1000, 0, 0)
	year := Time(400 * 24 * 3600 * Second)
	if got := c.Jiffies(year); got != Jiffies(400*24*3600*1000) {
		t.Fatalf("Jiffies(400 days) = %d", got)
	}
	if got := c.TimeOf(Jiffies(400 * 24 * 3600 * 1000)); got != year {
		t.Fatalf("TimeOf = %v", got)
	}
	c3, _ := NewClock(300, 0, 0)
	for _, tm := range []Time{year, year + 1, year + Time(3333333)} {
		j := c3.Jiffies(tm)
		if at := c3.TimeOf(j); at > tm || c3.Jiffies(at) != j {
			t.Fatalf("HZ=300 at %v: tick %d starts at %v", tm, j, at)
		}
	}
}

func TestMsToTicksRoundsUp(t *testing.T) {
	for _, tc := range []struct {
		ms   int64
		hz   int
		want Ticks
	}{
		{1000, 250, 250}, {1, 250, 1}, {4, 250, 1}, {5, 250, 2}, {0, 250, 0},
		{1000, 300, 300}, {10, 300, 3}, {30000, 1000, 30000}, {-5, 250, -2},
	} {
		if got := MsToTicks(tc.ms, tc.hz); got != tc.want {
			t.Errorf("MsToTicks(%d, %d) = %d, want %d", tc.ms, tc.hz, got, tc.want)
		}
	}
}
