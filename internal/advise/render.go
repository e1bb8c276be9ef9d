package advise

import (
	"encoding/json"
	"fmt"
	"html"
	"io"
	"math"
	"strings"
	"text/tabwriter"
)

// JSON writes the result as one indented JSON document.
func (r *Result) JSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

func frames(n int) string {
	if n == 1 {
		return "1 frame"
	}
	return fmt.Sprintf("%d frames", n)
}

func pct(v float64) string { return fmt.Sprintf("%.0f%%", 100*v) }

func p99Text(p *float64) string {
	if p == nil {
		return "never"
	}
	return fmt.Sprintf("%.2f s", *p)
}

func (r *Result) header() string {
	var names []string
	for _, g := range r.Fleet.Groups {
		names = append(names, g.Name)
	}
	t := r.Target
	s := fmt.Sprintf("arplab advise: %s for %d group(s) (%s): p(failure) ≤ %g on every group (95%% interval), "+
		"failure = old MAC still cached %g s after the move", r.Announcer.Name, len(names), strings.Join(names, ", "),
		t.MaxFailure, t.MaxStaleSeconds)
	if t.MaxFrames > 0 {
		s += fmt.Sprintf(", at most %d frames", t.MaxFrames)
	}
	return s + fmt.Sprintf("; seed %d", t.Seed)
}

// verdictWord summarises an evaluated setting.
func verdictWord(ev Evaluated) string {
	if ev.MeetsTarget {
		return "meets the target on every group"
	}
	var bad []string
	for _, g := range ev.Groups {
		if g.Verdict == "fails" || g.Verdict == "undecided" {
			bad = append(bad, g.Group)
		}
	}
	return "FAILS on " + strings.Join(bad, ", ")
}

func groupTable(w io.Writer, ev Evaluated, indent string) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "%sgroup\tprofile\ttraffic\truns\tp(failure)\t95%% interval\tp99 convergence\tverdict\n", indent)
	for _, g := range ev.Groups {
		if g.Runs == 0 {
			fmt.Fprintf(tw, "%s%s\t%s\t%s\t-\t-\t-\t-\t%s\n", indent, g.Group, g.Profile, g.Traffic, g.Verdict)
			continue
		}
		fmt.Fprintf(tw, "%s%s\t%s\t%s\t%d\t%.4f\t[%.4f, %.4f]\t%s\t%s\n", indent, g.Group, g.Profile, g.Traffic,
			g.Runs, g.PFailure, g.CILow, g.CIHigh, p99Text(g.P99), g.Verdict)
	}
	tw.Flush()
	for _, g := range ev.Groups {
		if g.Why != "" {
			fmt.Fprintf(w, "%swhy on %s: %s\n", indent, g.Group, g.Why)
		}
	}
}

// Text writes the human-readable report.
func (r *Result) Text(w io.Writer) error {
	fmt.Fprintln(w, r.header())
	var gs []string
	for _, g := range r.Fleet.Groups {
		hosts := ""
		if g.Hosts > 1 {
			hosts = fmt.Sprintf(" (%d hosts)", g.Hosts)
		}
		gs = append(gs, fmt.Sprintf("%s%s = %s, %s traffic, %s of the fleet", g.Name, hosts, g.Profile, g.Traffic, pct(g.Share)))
	}
	fmt.Fprintf(w, "fleet (%s): %s\n", r.Fleet.Source, strings.Join(gs, "; "))
	for _, n := range r.Fleet.Notes {
		fmt.Fprintln(w, "note:", n)
	}
	fmt.Fprintf(w, "announcer: %s\n", r.Announcer.Description)
	if r.Announcer.NoKnob != "" {
		fmt.Fprintf(w, "\n%s has no knob to tune: %s.\n", r.Announcer.Name, r.Announcer.NoKnob)
	}
	for _, d := range r.Defaults {
		fmt.Fprintf(w, "\n%s: %s — %s: %s\n", d.Label, d.Description, frames(d.Frames), verdictWord(d))
		groupTable(w, d, "  ")
	}
	if rec := r.Recommendation; rec != nil {
		fmt.Fprintf(w, "\nRecommended: %s — %s, worst-group p99 convergence %s\n", rec.Description, frames(rec.Frames), p99Text(rec.WorstP99))
		groupTable(w, *rec, "  ")
	} else {
		fmt.Fprintf(w, "\nNo setting of %s meets the target on every group.\n", r.Announcer.Name)
	}
	if len(r.Frontier) > 0 {
		fmt.Fprintln(w, "\nPareto frontier (frames sent vs worst-group p99 convergence):")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  frames\tworst p99\tfleet p(failure)\tsetting")
		for _, f := range r.Frontier {
			mark := ""
			if f.Recommended {
				mark = "  ← recommended"
			}
			fmt.Fprintf(tw, "  %d\t%s\t%.4f\t%s%s\n", f.Frames, p99Text(f.WorstP99), f.FleetPFailure, f.Description, mark)
		}
		tw.Flush()
	}
	if len(r.Config) > 0 {
		fmt.Fprintln(w, "\nConfiguration to paste:")
		for _, s := range r.Config {
			fmt.Fprintf(w, "  # %s\n", s.Where)
			for _, l := range strings.Split(strings.TrimRight(s.Text, "\n"), "\n") {
				fmt.Fprintf(w, "  %s\n", l)
			}
		}
	}
	if a := r.Alternatives; a != nil {
		fmt.Fprintf(w, "\nAlternatives (%s):\n", a.Reason)
		for _, t := range a.Sysctls {
			fmt.Fprintf(w, "  on %s — %s: %s\n    change: %s\n    why: %s\n    trade-off: %s\n", t.Group, t.Mechanism, t.Finding, t.Change, t.Why, t.TradeOff)
			if t.Sysctl != "" && t.Result != nil {
				fmt.Fprintf(w, "    simulated with the default announcer: %s → p(failure) %.4f [%.4f, %.4f], p99 %s (%s)\n",
					t.Sysctl, t.Result.PFailure, t.Result.CILow, t.Result.CIHigh, p99Text(t.Result.P99), t.Result.Verdict)
			}
		}
		if s := a.Supplementary; s != nil {
			fmt.Fprintf(w, "  supplementary announcement: %s\n    from: %s\n    result: %s, %s in all, worst p99 %s\n",
				s.Command, s.Hook, verdictWord(s.Result), frames(s.Result.Frames), p99Text(s.Result.WorstP99))
		} else if r.Announcer.IPv6 {
			fmt.Fprintln(w, "  supplementary announcement: no run of up to 3 extra unsolicited NAs (O=1) "+
				"(within --max-frames, with the default's frames) met the target either")
		} else {
			fmt.Fprintln(w, "  supplementary announcement: no `arplab garp --preset arping-U` run of up to 3 requests "+
				"(within --max-frames, with the default's frames) met the target either")
		}
	}
	s := r.Search
	fmt.Fprintf(w, "\nsearch: %d coarse candidates, %d refined in %d round(s), %d distinct schedules, %d simulated failovers\n",
		s.Candidates, s.Refined, s.Rounds, s.Evaluated, s.Runs)
	return nil
}

// HTML writes a self-contained page: the tables of Text and the frontier
// as an SVG chart.
func (r *Result) HTML(w io.Writer) error {
	var txt strings.Builder
	if err := r.Text(&txt); err != nil {
		return err
	}
	fmt.Fprintf(w, `<!doctype html>
<html><head><meta charset="utf-8"><title>arplab advise: %s</title>
<style>body{font-family:sans-serif;margin:2em;max-width:70em}pre{background:#f6f6f6;padding:1em;overflow-x:auto}
svg text{font-size:12px}</style></head><body>
<h1>arplab advise: %s</h1>
<h2>Pareto frontier</h2>
`, html.EscapeString(r.Announcer.Name), html.EscapeString(r.Announcer.Name))
	r.frontierSVG(w)
	fmt.Fprintf(w, "<h2>Report</h2>\n<pre>%s</pre>\n</body></html>\n", html.EscapeString(txt.String()))
	return nil
}

// frontierSVG plots frames (x) against worst-group p99 convergence (y) for
// the frontier, the recommendation circled, and the defaults that
// converge as squares.
func (r *Result) frontierSVG(w io.Writer) {
	type pt struct {
		x, y  float64
		label string
		kind  string
	}
	var pts []pt
	for _, f := range r.Frontier {
		k := "frontier"
		if f.Recommended {
			k = "recommended"
		}
		pts = append(pts, pt{float64(f.Frames), *f.WorstP99, f.Description, k})
	}
	for _, d := range r.Defaults {
		if d.WorstP99 != nil {
			pts = append(pts, pt{float64(d.Frames), *d.WorstP99, d.Label + ": " + d.Description, "default"})
		}
	}
	const W, H, L, B, T, R = 640, 360, 60, 40, 20, 20
	if len(pts) == 0 {
		fmt.Fprintln(w, "<p>No setting converges within the horizon on every group: nothing to plot.</p>")
		return
	}
	maxX, maxY := 1.0, r.Target.MaxStaleSeconds
	for _, p := range pts {
		maxX, maxY = math.Max(maxX, p.x), math.Max(maxY, p.y)
	}
	maxX++
	sx := func(x float64) float64 { return L + x/maxX*(W-L-R) }
	sy := func(y float64) float64 { return H - B - y/maxY*(H-B-T) }
	fmt.Fprintf(w, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="frames vs worst-group p99 convergence">`+"\n", W, H, W, H)
	fmt.Fprintf(w, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/><line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>`+"\n",
		L, H-B, W-R, H-B, L, T, L, H-B)
	for i := 0; i <= int(maxX); i++ {
		if int(maxX) > 20 && i%5 != 0 {
			continue
		}
		fmt.Fprintf(w, `<text x="%.1f" y="%d" text-anchor="middle">%d</text>`+"\n", sx(float64(i)), H-B+15, i)
	}
	for i := 0; i <= 4; i++ {
		y := maxY * float64(i) / 4
		fmt.Fprintf(w, `<text x="%d" y="%.1f" text-anchor="end">%.1f s</text>`+"\n", L-5, sy(y)+4, y)
	}
	fmt.Fprintf(w, `<text x="%d" y="%d" text-anchor="middle">frames sent within %g s</text>`+"\n", (W+L)/2, H-5, r.Target.MaxStaleSeconds)
	fmt.Fprintf(w, `<text x="12" y="%d" transform="rotate(-90 12 %d)" text-anchor="middle">worst-group p99 convergence</text>`+"\n", H/2, H/2)
	fmt.Fprintf(w, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#c00" stroke-dasharray="4 3"/><text x="%d" y="%.1f" fill="#c00" text-anchor="end">max stale</text>`+"\n",
		L, sy(r.Target.MaxStaleSeconds), W-R, sy(r.Target.MaxStaleSeconds), W-R, sy(r.Target.MaxStaleSeconds)-4)
	var path []string
	for _, p := range pts {
		if p.kind != "default" {
			path = append(path, fmt.Sprintf("%.1f,%.1f", sx(p.x), sy(p.y)))
		}
	}
	if len(path) > 1 {
		fmt.Fprintf(w, `<polyline points="%s" fill="none" stroke="#36c"/>`+"\n", strings.Join(path, " "))
	}
	for _, p := range pts {
		t := html.EscapeString(fmt.Sprintf("%s — %g frames, p99 %.2f s", p.label, p.x, p.y))
		switch p.kind {
		case "default":
			fmt.Fprintf(w, `<rect x="%.1f" y="%.1f" width="10" height="10" fill="#999"><title>%s</title></rect>`+"\n", sx(p.x)-5, sy(p.y)-5, t)
		case "recommended":
			fmt.Fprintf(w, `<circle cx="%.1f" cy="%.1f" r="8" fill="none" stroke="#090" stroke-width="2"/>`, sx(p.x), sy(p.y))
			fallthrough
		default:
			fmt.Fprintf(w, `<circle cx="%.1f" cy="%.1f" r="4" fill="#36c"><title>%s</title></circle>`+"\n", sx(p.x), sy(p.y), t)
		}
	}
	fmt.Fprintln(w, "</svg>")
	fmt.Fprintln(w, `<p><span style="color:#36c">●</span> frontier point (hover for the setting) · `+
		`<span style="color:#090">◯</span> recommended · <span style="color:#999">■</span> a default that converges</p>`)
}
