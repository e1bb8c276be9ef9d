package cli

import "testing"

// TestVerifySkipsWhatTheKernelLacks: on a kernel without arp_accept=2
// (5.10) and without accept_untracked_na, the scenarios that set them are
// skipped with the patch and its release, before any lab runs, and the
// run is not a failure; the reason names the kernel's profile.
func TestVerifySkipsWhatTheKernelLacks(t *testing.T) {
	defer func(f func() (string, error)) { kernelRelease = f }(kernelRelease)
	kernelRelease = func() (string, error) { return "5.10.0-20-amd64", nil }
	out, errs, code := run(t, "verify", "arp-accept-2-subnet", "nd-untracked-na-host")
	if code != ExitOK {
		t.Fatalf("exit %d: %s\n%s", code, errs, out)
	}
	wantAll(t, "verify's output", out,
		"verify arp-accept-2-subnet: SKIPPED: kernel 5.10.0-20-amd64 (profile 5.10): conf.eth0.arp_accept=2 needs arp-accept-subnet (6.0)",
		"verify nd-untracked-na-host: SKIPPED: kernel 5.10.0-20-amd64 (profile 5.10):",
		"needs accept-untracked-na (5.19)",
		"skipped 2 scenario(s) that set what kernel 5.10.0-20-amd64 lacks: arp-accept-2-subnet, nd-untracked-na-host",
		"0 of 0 scenarios")
}
