package sim

import (
	"fmt"
	"os"
	"testing"

	"arplab/internal/scenario"
	"arplab/internal/trace"
)

func TestSmokeFailure(t *testing.T) {
	s, err := scenario.Load("failure")
	if err != nil {
		t.Fatal(err)
	}
	var rec trace.Recorder
	r, err := Run(s, Options{Sink: &rec})
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv("SMOKE") != "" {
		for _, e := range rec.Events {
			if e.IP == "172.24.4.10" || e.Kind == "verdict" || e.Kind == "flow" {
				fmt.Printf("%9.4f %-8s %-10s %-10s %s\n", e.Time, e.Kind, e.State, e.Verdict, e.Explanation)
			}
		}
	}
	fmt.Printf("%+v\n", r.Flows)
	fmt.Println(Verdict(r), r.Events)
}
