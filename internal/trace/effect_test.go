package trace

import "testing"

func TestFrameEffect(t *testing.T) {
	const a, b = "00:00:5e:00:01:01", "00:00:5e:00:01:02"
	for _, c := range []struct {
		verdict, sha, after string
		want                Effect
	}{
		{Honoured, b, b, EffectHonoured},
		{Created, b, b, EffectCreated},
		{Ignored, b, a, EffectIgnored},
		{Ignored, b, b, EffectNoop},
		{Ignored, b, "", EffectIgnored}, // an INCOMPLETE entry has no lladdr to match
		{Dropped, b, a, EffectDropped},
	} {
		if got := FrameEffect(c.verdict, c.sha, c.after); got != c.want {
			t.Errorf("FrameEffect(%s, sha %s, after %q) = %s, want %s", c.verdict, c.sha, c.after, got, c.want)
		}
		ev := Event{Kind: KindARP, Verdict: c.verdict, LLAddr: c.after, ARP: &ARPFrame{SHA: c.sha}}
		if got := ev.Effect(); got != c.want {
			t.Errorf("Event.Effect(%s, sha %s, after %q) = %s, want %s", c.verdict, c.sha, c.after, got, c.want)
		}
	}
	// the generic form agrees for a comparable non-string MAC type
	type mac [6]byte
	if FrameEffect(Ignored, mac{1}, mac{1}) != EffectNoop || FrameEffect(Ignored, mac{1}, mac{2}) != EffectIgnored {
		t.Error("FrameEffect on [6]byte disagrees with the string form")
	}
	if (&Event{Kind: KindState}).Effect() != "" {
		t.Error("a state event has no frame effect")
	}
}
