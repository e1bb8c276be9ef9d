// Package report renders arplab traces for people: a self-contained HTML page
// with per-entry swimlanes (HTML, Matrix) and a compact ASCII timeline for a
// terminal (Timeline).
//
// The question every renderer answers is the one from "The Failure, part 3":
// while a floating IP moved to a new MAC, which lladdr did each neighbour
// entry keep, which gratuitous ARP frames did it ignore, and which locktime
// window (moved by what) was in the way. So the lanes put the NUD state, the
// lladdr in force, the received frames with their verdicts and the locktime
// windows on one time axis, and every mark leads back to the event's
// explanation and rule.
//
// The package reads only the trace vocabulary (arplab/internal/trace) and the
// standard library, so a saved JSON-lines trace can be rendered without the
// simulator, the lab or the watcher that produced it. Output is deterministic
// (no map iteration order, no generation timestamps) so that golden files
// and "render twice, compare bytes" tests hold.
//
// Sections cited as §n are those of the behavioural reference,
// ../shared/spec/linux-neighbour.md (beside the repository);
// "ndisc §n" cites ../shared/spec/linux-ndisc.md.
package report
