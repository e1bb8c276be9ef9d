package report

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"arplab/internal/advise"
	"arplab/internal/scenario"
	"arplab/internal/sim"
	"arplab/internal/trace"
)

// pageCheck is appended to a copy of each page by the test only: it opens
// every collapsed section (a matrix page's timelines are shown on demand),
// counts the timelines it measured, lists
// the elements that stick out past the viewport's right edge, and every
// difference between the legend and what the timelines draw (a key with
// nothing drawn, or a drawn mark, state or MAC with no key), on <body>.
const pageCheck = `<script>
(function(){
document.querySelectorAll('details').forEach(function(d){d.open=true;});
var B=document.body,W=document.documentElement.clientWidth,over=[],bad=[];
document.querySelectorAll('body *').forEach(function(e){var r=e.getBoundingClientRect();
 if(r.width>0&&r.right>W+1)over.push(e.tagName.toLowerCase()+'.'+(e.getAttribute('class')||'')+' right='+Math.round(r.right));});
function set(sel,attr){var s={};document.querySelectorAll(sel).forEach(function(e){s[attr?e.getAttribute(attr):'1']=1;});return s;}
function cmp(name,keyed,drawn){Object.keys(keyed).forEach(function(k){if(!drawn[k])bad.push(name+' '+k+' keyed, not drawn');});
 Object.keys(drawn).forEach(function(k){if(!keyed[k])bad.push(name+' '+k+' drawn, not keyed');});}
cmp('mac',set('.legend [data-key=mac]','data-lladdr'),set('svg.tl rect.mac[data-lladdr], svg.tl g.send[data-lladdr]','data-lladdr'));
var states={};document.querySelectorAll('.legend [data-key=state]').forEach(function(e){states[e.nextSibling.textContent.trim()]=1;});
cmp('state',states,set('svg.tl rect.span[data-state]','data-state'));
var keys={};document.querySelectorAll('.legend [data-key]').forEach(function(e){var k=e.getAttribute('data-key');if(k!=='mac'&&k!=='state')keys[k]=1;});
var drawn={};
document.querySelectorAll('svg.tl g.arp[data-effect]').forEach(function(e){drawn[e.getAttribute('data-effect')]=1;});
[['probe','g.probe'],['confirm','g.confirm'],['confirm-run','rect.confirm-run'],['touch','g.touch'],['send','g.send:not(.own)'],['send-own','g.send.own'],['move','g.move'],['lock','rect.locktime'],['lost-run','rect.lost-run'],['disagree','g.disagree-band']].forEach(function(p){if(document.querySelector('svg.tl '+p[1]))drawn[p[0]]=1;});
document.querySelectorAll('svg.tl g.flow[data-key]').forEach(function(e){drawn[e.getAttribute('data-key')]=1;});
cmp('mark',keys,drawn);
var narrow=[],measured=0;document.querySelectorAll('svg.tl').forEach(function(e){var r=e.getBoundingClientRect();if(r.width>0)measured++;if(r.width>0&&r.right<W-40)narrow.push(e.id+' right='+Math.round(r.right)+' of '+W);});
B.setAttribute('data-measured',measured+' of '+document.querySelectorAll('svg.tl').length);
if(narrow.length)B.setAttribute('data-narrow',narrow.join(' | '));
B.setAttribute('data-overflow',over.slice(0,20).join(' | '));
B.setAttribute('data-legend',bad.join(' | '));
B.setAttribute('data-checked','1');
})();
</script>
</body>`

// TestBrowserPageKinds renders each kind of page (a simulator run with
// its fixes, a capture replay on an absolute clock, a verify trace with
// two sides, a matrix, advise's report) in headless Chromium, takes a screenshot of each
// (kept in $ARPLAB_SCREENSHOT_DIR when set), and checks that nothing is
// wider than the window, that every open timeline reaches the right edge,
// that the legend keys exactly what is drawn, and
// that the page's own script ran cleanly. Each page is also under 1 MB.
func TestBrowserPageKinds(t *testing.T) {
	pages := map[string][]byte{}
	render := func(name string, f func(*bytes.Buffer) error) {
		var b bytes.Buffer
		if err := f(&b); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if b.Len() >= 1<<20 {
			t.Errorf("%s: %d bytes, want under 1 MB", name, b.Len())
		}
		pages[name] = b.Bytes()
	}
	s, err := scenario.Load("failure")
	if err != nil {
		t.Fatal(err)
	}
	var rec trace.Recorder
	if _, err := sim.Run(s, sim.Options{Sink: &rec}); err != nil {
		t.Fatal(err)
	}
	var fixes []Fix
	for _, r := range sim.Fixes(s, sim.Options{}) {
		fixes = append(fixes, Fix{Label: r.Label, OK: r.Fixed, Stale: r.Stale, Err: r.Err, Why: r.Why})
	}
	render("run", func(b *bytes.Buffer) error {
		return HTML(b, rec.Events, HTMLOptions{Title: "arplab run failure", Fixes: fixes})
	})
	render("capture", func(b *bytes.Buffer) error { return HTML(b, captureTrace(), HTMLOptions{}) })
	render("verify", func(b *bytes.Buffer) error { return HTML(b, verifyTrace(), HTMLOptions{}) })
	var rows []MatrixRow
	for _, v := range append(sim.DefaultMatrix(s)[:6], s.Matrix...) {
		r := sim.RunVariation(s, v, sim.Options{}, true)
		rows = append(rows, MatrixRow{Label: r.Label, OK: r.FlowsOK, Stale: r.Stale, Expect: r.OK, Expects: r.Expectation, Summary: r.Verdict, Events: r.Events})
	}
	render("matrix", func(b *bytes.Buffer) error { return Matrix(b, rows, HTMLOptions{Title: "arplab matrix failure"}) })
	// advise's page (its own renderer: tables and the frontier chart, no
	// timeline) on a fleet with a failing default, so every section shows
	fleet, err := advise.ParseFleet("rhel7.3,4.9,6.18")
	if err != nil {
		t.Fatal(err)
	}
	res, err := advise.Advise(context.Background(), fleet, "keepalived", advise.Options{})
	if err != nil {
		t.Fatal(err)
	}
	render("advise", func(b *bytes.Buffer) error { return res.HTML(b) })

	bin := chromium()
	if bin == "" {
		t.Skip("chromium is not installed (Debian package \"chromium\"); skipping the headless-browser check")
	}
	if testing.Short() {
		t.Skip("-short: skipping the headless-browser check")
	}
	dir := t.TempDir()
	for _, name := range []string{"run", "capture", "verify", "matrix", "advise"} {
		timelines := name != "advise"
		t.Run(name, func(t *testing.T) {
			page := pages[name]
			file := filepath.Join(dir, name+".html")
			checked := bytes.Replace(page, []byte("</body>"), []byte(pageCheck), 1)
			if err := os.WriteFile(file, checked, 0o644); err != nil {
				t.Fatal(err)
			}
			dom, stderr := runChromium(t, bin, dir, "file://"+file, "--dump-dom")
			body := regexp.MustCompile(`<body[^>]*>`).FindString(dom)
			if (timelines && !strings.Contains(body, `data-ready="1"`)) || strings.Contains(body, "data-errors") || !strings.Contains(body, `data-checked="1"`) {
				t.Errorf("scripts did not run cleanly: %q", body)
			}
			if c := consoleLines(stderr); len(c) > 0 {
				t.Errorf("console messages:\n%s", strings.Join(c, "\n"))
			}
			if m := regexp.MustCompile(`data-overflow="([^"]+)"`).FindStringSubmatch(body); m != nil {
				t.Errorf("elements wider than the 1400 px window: %s", m[1])
			}
			if m := regexp.MustCompile(`data-measured="(\d+) of (\d+)"`).FindStringSubmatch(body); timelines && (m == nil || m[1] != m[2] || m[1] == "0") {
				t.Errorf("timelines measured: %v, want every one (and at least one)", m)
			}
			if m := regexp.MustCompile(`data-narrow="([^"]+)"`).FindStringSubmatch(body); m != nil {
				t.Errorf("timelines stop short of the page's right edge: %s", m[1])
			}
			if m := regexp.MustCompile(`data-legend="([^"]+)"`).FindStringSubmatch(body); m != nil {
				t.Errorf("legend and drawing disagree: %s", m[1])
			}
			shot := filepath.Join(dir, name+".png")
			runChromium(t, bin, dir, "file://"+filepath.Join(dir, name+".html"), "--screenshot="+shot)
			b, err := os.ReadFile(shot)
			if err != nil || !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) {
				t.Fatalf("no screenshot: %v", err)
			}
			if keep := os.Getenv("ARPLAB_SCREENSHOT_DIR"); keep != "" {
				os.WriteFile(filepath.Join(keep, "page-"+name+".png"), b, 0o644)
			}
		})
	}
}
