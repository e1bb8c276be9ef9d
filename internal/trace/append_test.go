package trace

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"pgregory.net/rapid"
)

func genEvent(t *rapid.T) Event {
	str := rapid.OneOf(rapid.Just(""), rapid.String(), rapid.StringMatching(`[a-z0-9:.]{1,12}`), rapid.Just("a\"b\\c\n\u2028<&>\x01\xff"))
	e := Event{
		Time:   rapid.Float64Range(-1e12, 1e12).Draw(t, "time"),
		Kind:   Kind(rapid.SampledFrom([]string{"arp", "state", "header", "flow"}).Draw(t, "kind")),
		Source: str.Draw(t, "source"), Host: str.Draw(t, "host"), Dev: str.Draw(t, "dev"), IP: str.Draw(t, "ip"),
		LLAddr: str.Draw(t, "lladdr"), State: str.Draw(t, "state"), OldLLAddr: str.Draw(t, "old_lladdr"),
		OldState: str.Draw(t, "old_state"), Cause: str.Draw(t, "cause"), Rule: str.Draw(t, "rule"),
		Verdict: str.Draw(t, "verdict"), Explanation: str.Draw(t, "explanation"), Flow: str.Draw(t, "flow"),
		Frame: rapid.IntRange(0, 1<<30).Draw(t, "frame"),
	}
	if rapid.Bool().Draw(t, "hasarp") {
		e.ARP = &ARPFrame{Op: str.Draw(t, "op"), SHA: str.Draw(t, "sha"), SIP: str.Draw(t, "sip"), THA: str.Draw(t, "tha"),
			TIP: str.Draw(t, "tip"), EthDst: str.Draw(t, "ethdst"), PktType: str.Draw(t, "pkt"), GARP: rapid.Bool().Draw(t, "garp")}
	}
	if rapid.Bool().Draw(t, "hasnd") {
		e.ND = &NDFrame{Type: str.Draw(t, "ndtype"), Src: str.Draw(t, "ndsrc"), Dst: str.Draw(t, "nddst"), Target: str.Draw(t, "ndtarget"),
			Router: rapid.Bool().Draw(t, "r"), Solicited: rapid.Bool().Draw(t, "s"), Override: rapid.Bool().Draw(t, "o"),
			LLAddr: str.Draw(t, "ndll"), HopLimit: rapid.IntRange(0, 255).Draw(t, "hlim"), EthDst: str.Draw(t, "ndethdst"), PktType: str.Draw(t, "ndpkt")}
	}
	if rapid.Bool().Draw(t, "hasj") {
		e.Jiffies, e.Updated = U64(rapid.Uint64().Draw(t, "j")), U64(rapid.Uint64().Draw(t, "u"))
	}
	if rapid.Bool().Draw(t, "hasc") {
		e.Confirmed = U64(rapid.Uint64().Draw(t, "c"))
		e.LocktimeUntil = F64(rapid.Float64Range(0, 1e10).Draw(t, "lu"))
		e.OK = Bool(rapid.Bool().Draw(t, "ok"))
	}
	if rapid.Bool().Draw(t, "hasattrs") {
		e.Attrs = rapid.MapOfN(str, str, 1, 4).Draw(t, "attrs")
	}
	return e
}

// TestAppendJSONMatchesEncodingJSON: the hand-written encoder and
// encoding/json give the same event back when decoded.
func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		e := genEvent(t)
		fast := e.AppendJSON(nil)
		if !json.Valid(fast) {
			t.Fatalf("invalid JSON: %s", fast)
		}
		slow, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		var a, b Event
		if err := json.Unmarshal(fast, &a); err != nil {
			t.Fatal(err)
		}
		json.Unmarshal(slow, &b)
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("decoded differently:\nfast %s\nslow %s", fast, slow)
		}
	})
}

func BenchmarkEncode(b *testing.B) {
	e := Event{Time: 10.2003, Kind: KindARP, Source: "replay", Host: "h", Dev: "eth0", IP: "10.0.0.10",
		LLAddr: "02:00:00:00:00:0a", State: "DELAY", Cause: "arp-update", Rule: "§4.4(a)", Verdict: Ignored,
		Explanation: "GARP reply not recognised as gratuitous on rhel7.3 (replies never are); ignored: 200 ticks", Frame: 7,
		ARP:     &ARPFrame{Op: "reply", SHA: "02:00:00:00:00:0b", SIP: "10.0.0.10", THA: "02:00:00:00:00:0b", TIP: "10.0.0.10"},
		Jiffies: U64(1010200), Updated: U64(1010200), LocktimeUntil: F64(11.2)}
	var buf bytes.Buffer
	enc := NewEncoder(&buf)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		buf.Reset()
		enc.Encode(e)
	}
}

// TestNumbersAsEncodingJSON: numbers are spelled byte for byte as
// encoding/json spells them: capture times in plain decimals, not
// exponents; the exponent only below 1e-6 and from 1e21 on.
func TestNumbersAsEncodingJSON(t *testing.T) {
	for _, f := range []float64{0, 1700000020.05, 1.7e9, 0.0000512, 1e-7, 5e-324, 1e21, 123456789012345678901234.0, -3.25, 1e20} {
		want, _ := json.Marshal(f)
		if got := appendFloat(nil, f); string(got) != string(want) {
			t.Errorf("appendFloat(%v) = %s, want %s", f, got, want)
		}
	}
	rapid.Check(t, func(t *rapid.T) {
		f := rapid.Float64().Draw(t, "f")
		want, err := json.Marshal(f)
		if err != nil {
			t.Skip()
		}
		if got := appendFloat(nil, f); string(got) != string(want) {
			t.Fatalf("appendFloat(%v) = %s, want %s", f, got, want)
		}
	})
}
