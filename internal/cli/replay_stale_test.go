package cli

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"

	"arplab/internal/replay"
)

// TestStaleLines: the text lists the longest dead-MAC spans and counts
// the others, the ones the replay did not keep among them.
func TestStaleLines(t *testing.T) {
	ip := netip.MustParseAddr("10.0.0.9")
	spans := []replay.StaleSpan{{IP: ip, Seconds: 1, MAC: "a"}, {IP: ip, Seconds: 3, MAC: "b"}, {IP: ip, Seconds: 2, MAC: "c"}}
	for _, c := range []struct {
		dropped, top int
		all          bool
		macs, more   string
	}{
		{0, 2, false, "b c", "… 1 more dead-MAC spans, shorter (--all lists every one"},
		{5, 2, false, "b c", "… 6 more dead-MAC spans, shorter (--all lists the 3 longest"},
		{5, 2, true, "a b c", "… 5 more dead-MAC spans, shorter than these 3 (the replay keeps the longest"},
		{0, 3, false, "a b c", ""},
	} {
		var b bytes.Buffer
		staleLines(&b, spans, c.dropped, c.top, c.all)
		var macs []string
		more := ""
		for _, ln := range strings.Split(strings.TrimSpace(b.String()), "\n") {
			if f := strings.Fields(ln); len(f) > 3 && f[0] == "entry" {
				macs = append(macs, f[4][:1])
			} else {
				more = ln
			}
		}
		if strings.Join(macs, " ") != c.macs || !strings.HasPrefix(more, c.more) || (c.more == "" && more != "") {
			t.Errorf("%+v: listed %v, then %q", c, macs, more)
		}
	}
}
