package cli

import (
	"strings"
	"testing"

	"arplab/internal/live/doctor"
)

// TestDoctorSaysWhatIsUnknown: doctor's text on a RHEL 8 host names the
// profile and why, then each patch of unknown presence with its evidence
// and the profile's caveats, as `arplab profiles rhel8` lists them.
func TestDoctorSaysWhatIsUnknown(t *testing.T) {
	r := doctor.Report{Release: "4.18.0-553.el8_10.x86_64"}
	r.DescribeKernel()
	var b strings.Builder
	writeDoctorText(&b, r, nil)
	out := b.String()
	wantAll(t, "doctor's text", out,
		"kernel 4.18.0-553.el8_10.x86_64 → profile rhel8",
		"  (4.18.0-553.el8_10.x86_64 is a RHEL 8 kernel",
		"  unknown for this profile: pmtu-no-confirm: unknown (modelled as absent) — ",
		"  unknown for this profile: HZ=1000 is recalled from RHEL's build configuration")
	if n := strings.Count(out, "unknown for this profile:"); n != len(r.Unknown) || n < 2 {
		t.Errorf("%d unknown lines for %d unknowns:\n%s", n, len(r.Unknown), out)
	}
}
