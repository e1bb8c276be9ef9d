package watch

import (
	"testing"

	"golang.org/x/sys/unix"
)

// TestStateName: netlink's NUD bits spelled as `ip neigh` spells them,
// through neigh.State's names; combinations joined with "|".
func TestStateName(t *testing.T) {
	for s, want := range map[int]string{
		0:                                    "NONE",
		unix.NUD_REACHABLE:                   "REACHABLE",
		unix.NUD_PERMANENT:                   "PERMANENT",
		unix.NUD_STALE | unix.NUD_NOARP:      "STALE|NOARP",
		unix.NUD_INCOMPLETE | unix.NUD_PROBE: "INCOMPLETE|PROBE",
	} {
		if got := stateName(s); got != want {
			t.Errorf("stateName(%#x) = %q, want %q", s, got, want)
		}
	}
	for state, want := range map[string]bool{"REACHABLE": true, "PERMANENT": true, "STALE": true, "FAILED": false,
		"INCOMPLETE": false, "NONE": false, "STALE|NOARP": false} {
		if valid(state) != want {
			t.Errorf("valid(%q) = %v, want %v", state, !want, want)
		}
	}
}
