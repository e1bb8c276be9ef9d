package replay

import (
	"arplab/internal/testkit"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"arplab/internal/capture"
	"arplab/internal/trace"
	"arplab/internal/wire/arp"
	"arplab/internal/wire/ipv4"
)

// guessHost returns a host found in the capture at path (guessHostIn).
func guessHost(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return "10.0.0.1"
	}
	return guessHostIn(data)
}

// TestSharedCaptures runs every tcpdump test capture through Replay, with
// a host taken from the capture and with a host that is not in it, and
// through both a recording and a quiet sink: errors are fine, panics and
// invalid traces are not.
func TestSharedCaptures(t *testing.T) {
	sharedDir := testkit.SharedCaptures(t)
	files, _ := filepath.Glob(filepath.Join(sharedDir, "*.pcap*"))
	if len(files) == 0 {
		t.Fatalf("no captures in %s", sharedDir)
	}
	replayed := 0
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			for _, host := range []string{guessHost(path), "10.99.99.1"} {
				for _, prof := range []string{"rhel7.3", "6.18"} {
					var rec trace.Recorder
					sum, err := Replay(path, Options{Host: host, Profile: profile(t, prof)}, &rec)
					if err != nil {
						var ce *capture.Error
						if !errors.Is(err, ErrHostNotFound) && !errors.Is(err, ErrNoFrames) && !errors.As(err, &ce) {
							t.Errorf("host %s: error %v is neither host-not-found, no-frames nor a capture error", host, err)
						}
						if len(rec.Events) > 0 {
							checkTrace(t, rec.Events)
						}
						continue
					}
					checkTrace(t, rec.Events)
					if quiet, err := Replay(path, Options{Host: host, Profile: profile(t, prof), Quiet: true}, &rec); err != nil ||
						quiet.Frames != sum.Frames || quiet.Received != sum.Received {
						t.Errorf("quiet replay: %d frames, %d received, err %v; want %d, %d", quiet.Frames, quiet.Received, err, sum.Frames, sum.Received)
					}
					replayed++
				}
			}
		})
	}
	t.Logf("%d of %d replays ran to the end", replayed, 4*len(files))
}

// TestJSONLines: every ARP line of the JSON trace carries the fields the
// renderers rely on, with the time as a number.
func TestJSONLines(t *testing.T) {
	var buf bytes.Buffer
	enc := trace.NewEncoder(&buf)
	sink := sinkFunc(func(ev trace.Event) {
		if err := enc.Encode(ev); err != nil {
			t.Fatal(err)
		}
	})
	c := newCap(t, capture.Ethernet)
	c.tcp(t0, macOld, macHost, tcp(ipHost, ipF, 40000, 22, 1000, 0, ipv4.FlagSYN, 0))
	c.arp(t0+100*ms, arp.Broadcast, macNew, garpReply(ipF, macNew))
	c.arp(t0+200*ms, macHost, macG, reply(macG, ipG, macHost, ipHost))        // G: unicast reply, entry exists
	c.arp(t0+300*ms, arp.Broadcast, macG, request(macG, ipG, ipHost))         // request for us
	c.arp(t0+400*ms, macG, macNew, request(macNew, ipF, ipG))                 // to another host: dropped
	c.arp(t0+500*ms, arp.Broadcast, macNew, request(macNew, ipF, ipG.Next())) // request for someone else
	if _, err := ReplayReader(bytes.NewReader(c.bytes()), "t.pcap", Options{Host: "10.0.0.1", Profile: profile(t, "rhel7.3"),
		Initial: []string{"10.0.0.10=52:54:00:ac:fb:f4", "10.0.0.20=02:00:00:00:00:20"}}, sink); err != nil {
		t.Fatal(err)
	}
	evs, err := trace.Read(bytes.NewReader(buf.Bytes()), "trace.jsonl")
	if err != nil {
		t.Fatalf("the trace does not read back: %v", err)
	}
	checkTrace(t, evs)
	arps := 0
	for i, line := range bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n")) {
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		if _, ok := m["time"].(float64); !ok {
			t.Errorf("line %d: time %v is not a number", i+1, m["time"])
		}
		if m["kind"] != "arp" {
			continue
		}
		arps++
		for _, k := range []string{"ip", "lladdr", "state", "cause", "rule", "frame", "verdict", "explanation", "arp", "jiffies"} {
			if _, ok := m[k]; !ok {
				t.Errorf("line %d: arp event without %q: %s", i+1, k, line)
			}
		}
	}
	if arps != 5 {
		t.Errorf("%d arp lines, want 5", arps)
	}
}

type sinkFunc func(trace.Event)

func (f sinkFunc) Emit(ev trace.Event) { f(ev) }

// TestNoEntryLine: a frame for an IP the host has no entry for says so by
// leaving state and lladdr out: there is no entry to describe.
func TestNoEntryLine(t *testing.T) {
	c := newCap(t, capture.Ethernet)
	c.arp(t0, arp.Broadcast, macHost, request(macHost, ipHost, ipG))
	c.arp(t0+ms, arp.Broadcast, macNew, garpReply(ipF, macNew))
	_, evs := replayBytes(t, c.bytes(), Options{Host: "10.0.0.1"})
	a := kinds(evs, trace.KindARP)
	if len(a) != 1 || a[0].Verdict != "dropped" || a[0].Cause != "no-entry" || a[0].State != "" || a[0].LLAddr != "" {
		t.Errorf("no-entry line %+v, want dropped/no-entry without state and lladdr", a)
	}
}
