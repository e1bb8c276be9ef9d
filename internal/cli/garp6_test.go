package cli

import (
	"encoding/hex"
	"strings"
	"testing"
)

// dryRunFrames joins the hex groups of each frame `garp --ipv6 --dry-run`
// prints (eth, ipv6, icmpv6, option lines) into the frame's bytes.
func dryRunFrames(t *testing.T, out string) [][]byte {
	t.Helper()
	var frames [][]byte
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if strings.HasPrefix(line, "frame ") {
			frames = append(frames, nil)
			continue
		}
		if len(f) != 2 || len(frames) == 0 {
			continue
		}
		switch f[0] {
		case "eth", "ipv6", "icmpv6", "option":
			b, err := hex.DecodeString(f[1])
			if err != nil {
				t.Fatalf("bad hex in %q: %v", line, err)
			}
			frames[len(frames)-1] = append(frames[len(frames)-1], b...)
		}
	}
	return frames
}

// TestGarpIPv6DryRun: an IPv6 address selects the NA senders; --dry-run
// prints every frame of the schedule whole, and the IPv4-only and
// IPv6-only flags are usage errors on the other family.
func TestGarpIPv6DryRun(t *testing.T) {
	out, errs, code := run(t, "garp", "nosuch0", "2001:db8::10", "--preset", "keepalived", "--dry-run")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	frames := dryRunFrames(t, out)
	if len(frames) != 10 {
		t.Fatalf("%d frames printed, want 10 (two bursts of 5)", len(frames))
	}
	for i, f := range frames {
		if len(f) != 86 || f[12] != 0x86 || f[13] != 0xdd || f[54] != 136 {
			t.Errorf("frame %d is not an 86-byte NA: % x", i+1, f)
		}
	}
	if !strings.Contains(out, "[O]") || !strings.Contains(out, "at +5s") {
		t.Errorf("missing the O flag or the second burst:\n%s", out)
	}
	out, _, code = run(t, "garp", "nosuch0", "2001:db8::10", "--na-flags", "none", "--router", "--count", "2", "--interval", "300ms", "--dry-run")
	if code != 0 || strings.Count(out, "[R]") != 2 || !strings.Contains(out, "at +0.3s") {
		t.Errorf("custom --router --na-flags none: exit %d\n%s", code, out)
	}
	for _, args := range [][]string{
		{"garp", "lo", "2001:db8::10", "--mode", "reply", "--dry-run"},
		{"garp", "lo", "2001:db8::10", "--tha", "02:00:00:00:00:01", "--dry-run"},
		{"garp", "lo", "192.0.2.10", "--ipv6", "--dry-run"},
		{"garp", "lo", "192.0.2.10", "--na-flags", "O", "--dry-run"},
		{"garp", "lo", "2001:db8::10", "--preset", "neutron", "--dry-run"},
		{"garp", "lo", "2001:db8::10", "--preset", "metallb", "--na-flags", "O", "--dry-run"},
		{"garp", "lo", "2001:db8::10", "--preset", "metallb", "--router", "--dry-run"},
		{"garp", "lo", "2001:db8::10", "--na-flags", "X", "--dry-run"},
		{"garp", "lo", "2001:db8::10", "--source", "10.0.0.1", "--dry-run"},
		{"garp", "lo", "ff02::1", "--dry-run"},
		{"garp", "lo", "2001:db8::10", "--count", "1000000", "--dry-run"},
	} {
		if _, errs, code := run(t, args...); code != ExitUsage || strings.Count(strings.TrimSpace(errs), "\n") > 0 {
			t.Errorf("%v: exit %d, want 2 with a one-line error; stderr %q", args, code, errs)
		}
	}
}
