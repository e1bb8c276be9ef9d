package report

// The HTML page's compact event table: events stored once per distinct line
// and loaded into the detail panel on click, so a page stays small.

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// eventTable lists the key events; each row opens the same detail block as
// its mark. It returns the events listed.
func eventTable(b *bytes.Buffer, tl *timeline, prefix string) []int {
	var idx []int
	n := len(tl.Evs)
	if tl.words > 0 {
		n = tl.words // a Digest's marks follow its words, and have none
	}
	for i := range tl.Evs[:n] {
		if keyEvent(&tl.Evs[i]) {
			idx = append(idx, i)
		}
	}
	fmt.Fprintf(b, `<details class="events" open=""><summary>Key events (%d)</summary>`+"\n", len(idx))
	b.WriteString(`<table><thead><tr><th>time s</th><th>host</th><th>ip</th><th>side</th><th>event</th><th>verdict</th><th>rule</th><th>explanation</th></tr></thead><tbody>` + "\n")
	for _, i := range idx {
		ev := &tl.Evs[i]
		class := "k-" + string(ev.Kind)
		verdict := ev.Verdict
		if e := effectOf(ev); e != "" {
			class += " verdict-" + e
			verdict = e
		}
		if ev.Attrs["disagree"] == "1" {
			class += " disagree"
		}
		fmt.Fprintf(b, `<tr class="%s" data-detail="%s"><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>`+"\n",
			esc(class), esc(detailID(prefix, i)), fmtTime(ev.Time), esc(ev.Host), esc(entryIP(ev)), esc(ev.Source),
			esc(what(ev)), esc(verdict), esc(ev.Rule), esc(ev.Explanation))
	}
	b.WriteString("</tbody></table></details>\n")
	return idx
}

// store is the page's compact event table: for each event a mark or a
// table row points at, its trace line (Event.AppendJSON, the format
// docs/trace.md defines) and the words the page titles it with. The script
// builds the detail panel from it on click; pre-rendering a <dl> per event
// made a long run's page ten times larger.
type store struct {
	ids     bytes.Buffer   // "id":index pairs
	entries bytes.Buffer   // the distinct entries, in first-use order
	index   map[string]int // entry → its index
	nid     int
}

func newStore() *store { return &store{index: map[string]int{}} }

// add records the events idx of tl under the id prefix; runs gives, for
// the first event of a run of confirmations drawn as one mark, how many
// the run holds and when it ends. An entry equal to one already stored
// (the same frame in two matrix rows that behave alike) is stored once.
func (st *store) add(tl *timeline, prefix string, idx []int, runs map[int]run) {
	var e bytes.Buffer
	for _, i := range idx {
		ev := &tl.Evs[i]
		e.Reset()
		e.WriteString(`{"w":`)
		e.Write(jsonString(what(ev)))
		if x := effectOf(ev); x != "" {
			e.WriteString(`,"x":`)
			e.Write(jsonString(x))
		}
		if r, ok := runs[i]; ok {
			fmt.Fprintf(&e, `,"n":%d,"u":%s`, r.n, num3(r.until))
		}
		e.WriteString(`,"e":`)
		e.Write(ev.AppendJSON(nil))
		e.WriteByte('}')
		k, ok := st.index[e.String()]
		if !ok {
			k = len(st.index)
			st.index[e.String()] = k
			if k > 0 {
				st.entries.WriteByte(',')
			}
			st.entries.WriteString("\n")
			st.entries.Write(e.Bytes())
		}
		if st.nid > 0 {
			st.ids.WriteByte(',')
		}
		st.nid++
		st.ids.Write(jsonString(detailID(prefix, i)))
		fmt.Fprintf(&st.ids, ":%d", k)
	}
}

// write puts the table in the page as a JSON data block:
// {"ids": {detail id: entry index}, "entries": [entry, …]}. Every "<" is
// written as \u003c (it can only occur inside JSON strings), so no text in
// it can close the element or open a comment the HTML parser would honour.
func (st *store) write(b *bytes.Buffer) {
	b.WriteString(`<script type="application/json" id="store">{"ids":{`)
	b.Write(bytes.ReplaceAll(st.ids.Bytes(), []byte("<"), []byte(`\u003c`)))
	b.WriteString(`},"entries":[`)
	b.Write(bytes.ReplaceAll(st.entries.Bytes(), []byte("<"), []byte(`\u003c`)))
	b.WriteString("\n]}</script>\n")
}

// jsonString quotes s for JSON.
func jsonString(s string) []byte {
	b, _ := json.Marshal(s)
	return b
}

// css is the page's whole style sheet.
const css = `body{font:14px/1.4 system-ui,sans-serif;margin:16px;color:#212121;background:#fff}
header.verdict{padding:10px 14px;border-radius:6px;margin-bottom:10px;border:1px solid #ccc}
header.verdict.ok{background:#e8f5e9;border-color:#81c784}
header.verdict.fail{background:#ffebee;border-color:#e57373}
header.verdict h1{font-size:18px;margin:0 0 4px}
.badge{display:inline-block;padding:1px 7px;border-radius:4px;color:#fff;background:#757575;font-weight:700}
.badge.ok{background:#2e7d32}.badge.fail{background:#c62828}
.run,.attrs{margin:2px 0;color:#455a64;font-family:ui-monospace,monospace;font-size:12px}
.kv{margin-right:10px}
ul.checks{list-style:none;padding:0;margin:6px 0}
.controls{margin:8px 0}.controls input{width:7em}
.hint{color:#757575;font-size:12px}
.legend{font-size:12px;margin:6px 0}.lrow{margin:2px 0}
.sw{display:inline-block;width:14px;height:10px;margin:0 3px 0 8px;vertical-align:middle;border:1px solid #90a4ae}
.sw.absent{background:#fff;border-style:dashed}
.sw.lock{background:repeating-linear-gradient(45deg,#90a4ae 0 2px,#fff 2px 5px)}
svg.key{vertical-align:middle;margin-left:8px}
.plot{overflow-x:auto}
svg.tl{display:block;user-select:none;width:100%;height:auto}
svg.tl text{font:11px system-ui,sans-serif;fill:#37474f}
svg.tl text.lab{font-weight:600}
svg.tl text.sub,svg.tl text.tick{fill:#78909c;font-size:10px}
svg.tl text.side{fill:#6a1b9a}
svg.tl text.movelab{fill:#ad1457;font-size:10px}
svg.tl [data-detail]{cursor:pointer}
svg.tl .picked{filter:drop-shadow(0 0 2px #000)}
.detail{border:1px solid #cfd8dc;border-radius:6px;padding:8px 12px;margin:10px 0;min-height:40px;background:#fafafa}
.detail h3{margin:0 0 4px;font-size:14px}
.detail dl{display:grid;grid-template-columns:max-content auto;gap:1px 12px;margin:4px 0;font-size:12px}
.detail dt{color:#607d8b}.detail dd{margin:0;font-family:ui-monospace,monospace}
.events table{border-collapse:collapse;font-size:12px}
.events td,.events th{border-bottom:1px solid #eceff1;padding:2px 6px;text-align:left;vertical-align:top}
.events tr[data-detail]{cursor:pointer}
tr.verdict-ignored td{color:#b71c1c}tr.disagree{background:#ffebee}
tr.picked{background:#e3f2fd}
.expectation{margin:2px 0;font-size:13px}
.fixes{margin:10px 0}.fixes h2{font-size:16px;margin:0}.fixes ul{list-style:none;padding:0;margin:4px 0}
.fix .mark{display:inline-block;width:1.2em;font-weight:700}.fix.ok .mark{color:#2e7d32}.fix.fail .mark{color:#c62828}
table.msum{border-collapse:collapse;font-size:13px;width:100%}
table.msum th{white-space:nowrap}
table.msum td,table.msum th{border-bottom:1px solid #eceff1;padding:3px 8px;text-align:left;vertical-align:top}
table.msum td.num{text-align:right}.summary{color:#455a64;font-size:12px}
details.mtl{margin:4px 0}details.mtl summary{cursor:pointer}
`

// script zooms every timeline on the page, shows detail blocks on click,
// and records that it ran (data-ready) and any error (data-errors) on
// <body>, which is what the headless-browser test reads. A fragment like
// #zoom=10,14&pick=tl-d-7 opens the page zoomed with an event picked, so a
// link in a bug report can point at the frame that matters.
const script = `(function(){
var B=document.body,errs=[];
window.addEventListener('error',function(e){errs.push(String(e.message));B.setAttribute('data-errors',errs.join(' | '));});
try{
var S=Array.prototype.slice.call(document.querySelectorAll('svg.tl'));
function nice(span,n){var r=span/n,p=Math.pow(10,Math.floor(Math.log10(r))),m=r/p;return p*(m<=1?1:m<=2?2:m<=5?5:10);}
function lab(t,s){return t.toFixed(s<1?Math.ceil(-Math.log10(s)-1e-9):0)+'s';}
function place(s,f,t){
var L=+s.dataset.left,W=+s.dataset.width,k=W/(t-f);
function X(v){return (L+(v-f)*k).toFixed(2);}
s.dataset.from=f;s.dataset.to=t;
s.querySelectorAll('[data-t0]').forEach(function(e){
var x=X(+e.dataset.t0);
if(e.dataset.t1!==undefined){e.setAttribute('x',x);e.setAttribute('width',Math.max(0,X(+e.dataset.t1)-x).toFixed(2));}
else e.setAttribute('transform','translate('+x+','+(e.dataset.y||0)+')');});
var ax=s.querySelector('g.axis'),NS=s.namespaceURI,st=nice(t-f,10),a=Math.ceil(f/st-1e-9);
while(ax.firstChild)ax.removeChild(ax.firstChild);
for(var i=0;i<=1000;i++){var v=Math.round((a+i))*st;if(v>t+st*1e-9)break;
var x=X(v),l=document.createElementNS(NS,'line'),tx=document.createElementNS(NS,'text');
l.setAttribute('x1',x);l.setAttribute('x2',x);l.setAttribute('y1',ax.dataset.y0);l.setAttribute('y2',ax.dataset.y1);l.setAttribute('stroke','#e0e0e0');
tx.setAttribute('x',x);tx.setAttribute('y','14');tx.setAttribute('text-anchor','middle');tx.setAttribute('class','tick');tx.textContent=lab(v,st);
ax.appendChild(l);ax.appendChild(tx);}}
var zf=document.getElementById('zf'),zt=document.getElementById('zt');
function zoom(f,t){if(!(t>f))return;S.forEach(function(s){place(s,f,t);});zf.value=+f.toFixed(3);zt.value=+t.toFixed(3);}
document.getElementById('zgo').addEventListener('click',function(){zoom(+zf.value,+zt.value);});
document.getElementById('zreset').addEventListener('click',function(){var s=S[0];if(s)zoom(+s.dataset.fullFrom,+s.dataset.fullTo);});
S.forEach(function(s){
var sel=s.querySelector('rect.sel'),x0=null;
function px(e){var r=s.getBoundingClientRect();return (e.clientX-r.left)*(+s.getAttribute('width'))/r.width;}
function tm(x){var L=+s.dataset.left,f=+s.dataset.from,t=+s.dataset.to;return f+(x-L)*(t-f)/(+s.dataset.width);}
s.addEventListener('mousedown',function(e){var x=px(e);if(e.button!==0||x<+s.dataset.left)return;x0=x;sel.setAttribute('x',x);sel.setAttribute('width',0);sel.setAttribute('visibility','visible');e.preventDefault();});
s.addEventListener('mousemove',function(e){if(x0===null)return;var x=px(e);sel.setAttribute('x',Math.min(x,x0));sel.setAttribute('width',Math.abs(x-x0));});
window.addEventListener('mouseup',function(e){if(x0===null)return;var x=px(e),a=x0;x0=null;sel.setAttribute('visibility','hidden');
if(Math.abs(x-a)>4)zoom(tm(Math.min(a,x)),tm(Math.max(a,x)));});});
var panel=document.getElementById('detail'),picked=null,se=document.getElementById('store'),ST=se?JSON.parse(se.textContent):{ids:{},entries:[]};
function ft(t){return String(+(+t).toFixed(3));}
function el(tag,cls,txt){var e=document.createElement(tag);if(cls)e.className=cls;if(txt!==undefined)e.textContent=txt;return e;}
function chg(a,b){return a?a+' \u2192 '+(b||'-'):(b||'');}
function show(m){var k=ST.ids[m.getAttribute('data-detail')];if(k===undefined)return;var d=ST.entries[k];
if(picked)picked.classList.remove('picked');picked=m;m.classList.add('picked');
var e=d.e,a=e.arp||{},c=el('div','ev-detail');
c.appendChild(el('h3','',ft(e.time)+' s \u2014 '+d.w));
if(d.n)c.appendChild(el('p','run',d.n+' confirmations from '+ft(e.time)+' s to '+ft(d.u)+' s; the first:'));
if(e.explanation)c.appendChild(el('p','expl',e.explanation));
var dl=el('dl');
function dd(k,v){if(v===undefined||v===null||v==='')return;dl.appendChild(el('dt','',k));dl.appendChild(el('dd','',String(v)));}
dd('kind',e.kind);dd('source',e.source);dd('host',e.host);dd('dev',e.dev);dd('ip',e.ip);dd('verdict',e.verdict);dd('effect',d.x);dd('rule',e.rule);dd('cause',e.cause);
dd('state',chg(e.old_state,e.state));dd('lladdr',chg(e.old_lladdr,e.lladdr));
dd('arp op',a.op);dd('arp sha',a.sha);dd('arp sip',a.sip);dd('arp tha',a.tha);dd('arp tip',a.tip);dd('eth dst',a.eth_dst);dd('pkt_type',a.pkt_type);if(a.garp)dd('gratuitous','yes (sip == tip)');
dd('frame',e.frame);dd('jiffies',e.jiffies);dd('updated',e.updated);dd('confirmed',e.confirmed);if(e.locktime_until!==undefined)dd('locktime until',ft(e.locktime_until)+' s');
dd('flow',e.flow);if(e.ok!==undefined)dd('ok',e.ok);
Object.keys(e.attrs||{}).sort().forEach(function(k){dd(k,e.attrs[k]);});
c.appendChild(dl);panel.replaceChildren(c);}
document.querySelectorAll('[data-open]').forEach(function(a){a.addEventListener('click',function(){var t=document.getElementById(a.getAttribute('data-open'));if(t)t.open=true;});});
document.addEventListener('click',function(e){var m=e.target.closest&&e.target.closest('[data-detail]');if(m)show(m);});
document.addEventListener('keydown',function(e){if(e.key==='Enter'&&e.target.closest){var m=e.target.closest('[data-detail]');if(m)show(m);}});
var h=new URLSearchParams(location.hash.slice(1)),z=(h.get('zoom')||'').split(',');
if(z.length===2)zoom(+z[0],+z[1]);
var p=h.get('pick'),pm=Array.prototype.filter.call(document.querySelectorAll('[data-detail]'),function(m){return m.getAttribute('data-detail')===p;})[0];if(pm)show(pm);
B.setAttribute('data-ready','1');
}catch(err){errs.push(String(err));B.setAttribute('data-errors',errs.join(' | '));}
})();
`
