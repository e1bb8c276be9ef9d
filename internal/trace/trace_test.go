package trace

import (
	"bytes"
	"strings"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	evs := []Event{
		{Kind: KindHeader, Attrs: map[string]string{"b": "2", "a": "1"}},
		{Time: 10.25, Kind: KindARP, Host: "h", IP: "10.0.0.1", Verdict: Ignored, Frame: 3, Updated: U64(7), LocktimeUntil: F64(11.25)},
	}
	var buf bytes.Buffer
	if err := WriteAll(&buf, evs); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `"attrs":{"a":"1","b":"2"}`) {
		t.Errorf("attrs not sorted: %s", buf.String())
	}
	got, err := Read(&buf, "t.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[1].Verdict != Ignored || *got[1].Updated != 7 || *got[1].LocktimeUntil != 11.25 {
		t.Fatalf("%+v", got)
	}
}

func TestReadErrorsNameLine(t *testing.T) {
	for in, want := range map[string]string{
		"{\"kind\":\"header\"}\nnot json\n":          "t.jsonl:2: not a trace event: not JSON (at column 2)",
		"{\"kind\":\"bogus\"}\n":                     `t.jsonl:1: unknown kind "bogus"`,
		"{\"kind\":\"arp\"}\n":                       "t.jsonl:1: arp event without a verdict",
		"{\"kind\":\"arp\",\"verdict\":\"maybe\"}\n": `t.jsonl:1: unknown verdict "maybe"`,
		"{\"kind\":\"state\",\"color\":\"red\"}\n":   `t.jsonl:1: not a trace event: unknown field "color"`,
		"{\"kind\":\"state\",\"time\":\"soon\"}\n":   `t.jsonl:1: not a trace event: field "time": a string is not a number`,
		"{\"kind\":\"state\",\n":                     "t.jsonl:1: not a trace event: not JSON (the line ends before the object does)",
	} {
		_, err := Read(strings.NewReader(in), "t.jsonl")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Read(%q) error %v, want %q", in, err, want)
		}
	}
}

// TestReadOutputSkipsOutputLinesByKind: the summary and row lines that
// --json outputs add are set apart by kind, not rejected, and a line whose
// kind is neither an event's nor an output line's is still an error.
func TestReadOutputSkipsOutputLinesByKind(t *testing.T) {
	in := `{"time":0,"kind":"header"}
{"time":1,"kind":"verdict","ok":true}
{"kind":"summary","summary":{"ok":true},"fixes":[]}
{"kind":"matrix_row","label":"baseline"}
`
	evs, other, err := ReadOutput(strings.NewReader(in), "o.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || len(other) != 2 || other[0].Kind != OutputSummary || other[0].Line != 3 || other[1].Kind != OutputMatrixRow {
		t.Fatalf("events %+v, other %+v", evs, other)
	}
	if evs2, err := Read(strings.NewReader(in), "o.jsonl"); err != nil || len(evs2) != 2 {
		t.Fatalf("Read: %d events, %v", len(evs2), err)
	}
	if _, _, err := ReadOutput(strings.NewReader(`{"kind":"summary2","x":1}`+"\n"), "o.jsonl"); err == nil || !strings.Contains(err.Error(), "o.jsonl:1:") {
		t.Fatalf("unknown kind accepted or unnamed: %v", err)
	}
}
