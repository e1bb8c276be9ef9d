//go:build linux

package advise

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"arplab/internal/garp"
	"arplab/internal/kernel"
	livegarp "arplab/internal/live/garp"
	"arplab/internal/live/livetest"
	"arplab/internal/scenario"
)

// TestLabRecommendationConverges applies a recommendation on the running
// kernel: the keepalived setting advised for a fleet of RHEL 7.3 and this
// host's kernel is sent, frame for frame, from a raw socket in one network
// namespace, and the client in the other, whose entry for the VIP holds
// the old MAC and was just confirmed (its locktime window open), must hold
// the announcer's MAC within --max-stale.
func TestLabRecommendationConverges(t *testing.T) {
	livetest.Need(t)
	rel, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		t.Skipf("cannot read the running kernel's release: %v", err)
	}
	here := kernel.Closest(strings.TrimSpace(string(rel)))
	fleet := "rhel7.3," + here.Name
	if here.Name == "rhel7.3" {
		fleet = "rhel7.3"
	}
	r := mustAdvise(t, fleet, "keepalived", Options{MaxFailure: 0.01})
	if r.Recommendation == nil {
		t.Fatalf("no recommendation for %s", fleet)
	}
	a, _ := LookupAnnouncer("keepalived", DefaultMaxStale, false)
	var s Setting
	for _, k := range a.Knobs {
		s = append(s, r.Recommendation.Settings[k.Name].(float64))
	}
	var g scenario.GARP
	a.apply(s, &g, DefaultMaxStale)
	frames, err := garp.Schedule(g.PresetName(), livetest.SenderMAC, livetest.VIP, g.Options())
	if err != nil {
		t.Fatal(err)
	}

	p := livetest.NewPair(t)
	newMAC := livetest.SenderMAC.String()
	livetest.IP(t, p.Observer, "neigh", "replace", livetest.VIP.String(), "lladdr", livetest.OldMAC.String(),
		"nud", "reachable", "dev", p.ObserverDev)
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(DefaultMaxStale)+5*time.Second)
	defer cancel()
	start := time.Now()
	sent := make(chan error, 1)
	go func() {
		_, err := livegarp.Send(ctx, p.SenderDev, frames, livegarp.SendOptions{Netns: p.Sender})
		sent <- err
	}()
	var line string
	converged := time.Duration(-1)
	for time.Since(start) < time.Duration(DefaultMaxStale) {
		line = livetest.Neigh(t, p.Observer, p.ObserverDev, livetest.VIP)
		if strings.Contains(line, newMAC) {
			converged = time.Since(start)
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := <-sent; err != nil {
		t.Fatalf("sending %s: %v", r.Recommendation.Description, err)
	}
	if converged < 0 {
		t.Fatalf("kernel %s (profile %s): after %s (%d frames) the client still has %q, want lladdr %s within %v",
			strings.TrimSpace(string(rel)), here.Name, r.Recommendation.Description, len(frames), line, newMAC, DefaultMaxStale)
	}
	t.Logf("kernel %s (profile %s): %s converged in %v on the running kernel (%d frames; the model's p99 for the fleet: %v s)",
		strings.TrimSpace(string(rel)), here.Name, r.Recommendation.Description, converged.Round(time.Millisecond), len(frames),
		*r.Recommendation.WorstP99)
}
