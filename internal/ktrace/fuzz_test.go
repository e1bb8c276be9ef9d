package ktrace

import (
	"errors"
	"os"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary lines to the parser (with and without the
// 6.18 formats): it must never panic, and a line it accepts as a neigh
// event must keep the line as Raw and name a neigh_ event.
func FuzzParse(f *testing.F) {
	text, err := os.ReadFile("testdata/trace-6.18.txt")
	if err != nil {
		f.Fatal(err)
	}
	for _, line := range strings.Split(string(text), "\n") {
		f.Add(line)
	}
	f.Add("CPU:1 [LOST 12 EVENTS]")
	f.Add("ip-7 [000] ..... 1.0: neigh_create: family 2 dev d0")
	var formats []*EventFormat
	for _, ev := range []string{"neigh_create", "neigh_event_send_done", "neigh_timer_handler", "neigh_update", "neigh_update_done"} {
		b, err := os.ReadFile("testdata/format-6.18-" + ev + ".txt")
		if err != nil {
			f.Fatal(err)
		}
		ef, err := ParseEventFormat(string(b))
		if err != nil {
			f.Fatal(err)
		}
		formats = append(formats, ef)
	}
	parsers := []*Parser{NewParser(), NewParser(formats...)}
	f.Fuzz(func(t *testing.T, line string) {
		for _, p := range parsers {
			ev, err := p.Parse(line)
			var lost *LostEventsError
			if errors.As(err, &lost) && lost.Lost < 0 {
				t.Errorf("negative lost count in %q", line)
			}
			if err != nil {
				continue
			}
			if ev.Raw != strings.TrimRight(line, "\r\n") {
				t.Errorf("Raw = %q for line %q", ev.Raw, line)
			}
			if ev.Event == "" {
				t.Errorf("accepted %q without an event name", line)
			}
		}
	})
}

// FuzzParseEventFormat: format files never make the parser panic.
func FuzzParseEventFormat(f *testing.F) {
	b, err := os.ReadFile("testdata/format-6.18-neigh_update.txt")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(b))
	f.Add("name: x\nprint fmt: \"a %d b\"\n")
	f.Fuzz(func(t *testing.T, text string) {
		ef, err := ParseEventFormat(text)
		if err == nil && ef.Name == "" {
			t.Errorf("format without a name accepted: %q", text)
		}
	})
}
