package neigh

import (
	"strconv"
	"testing"
)

// TestEverySysctlHasARange: every sysctl the model reads has the kernel's
// range beside it, and Set accepts both ends of it.
func TestEverySysctlHasARange(t *testing.T) {
	for _, n := range ParamNames() {
		r, ok := SysctlRange(n)
		if !ok {
			t.Errorf("neigh/%s has no range", n)
			continue
		}
		p := DefaultParams(1000, 65536)
		for _, v := range []int64{r.Min, r.Max} {
			if err := p.Set(n, strconv.FormatInt(v, 10)); err != nil {
				t.Errorf("neigh/%s=%d is in range but Set refuses it: %v", n, v, err)
			}
		}
	}
	for _, n := range append([]string{"gc_thresh1", "gc_thresh2", "gc_thresh3", "gc_interval"}, ConfNames...) {
		if _, ok := SysctlRange(n); !ok {
			t.Errorf("%s has no range", n)
		}
	}
	if r, _ := SysctlRange("arp_accept"); r.Min != 0 || r.Max != 2 {
		t.Errorf("arp_accept range %v, want 0 to 2 (spec §8.2)", r)
	}
}
