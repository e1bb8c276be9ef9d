package trace

// Effect is what a received ARP frame did to its entry, in the sense a
// user asks about ("was the GARP ignored?"). The verdict alone cannot say
// it: the model calls a frame "ignored" whenever the entry kept its lladdr
// and state, which includes a repeated GARP for the MAC the entry already
// has. That frame changed nothing because nothing needed changing; only a
// frame that left the entry on another MAC was ignored in the user's sense.
// Every counter and every renderer classifies frames with FrameEffect, so
// the simulator, replay and the reports agree on the numbers.
type Effect string

// Effects of a received frame.
const (
	EffectHonoured Effect = "honoured" // the entry took the frame's lladdr or state
	EffectIgnored  Effect = "ignored"  // the entry kept another lladdr than the frame's
	EffectNoop     Effect = "no-op"    // ignored, but the entry already had the frame's lladdr
	EffectCreated  Effect = "created"  // the frame created the entry
	EffectDropped  Effect = "dropped"  // the frame never reached the table update
)

// FrameEffect classifies a frame from the model's verdict, the frame's
// sender hardware address and the entry's lladdr after the frame. M is a
// MAC in any comparable spelling (arp.MAC on the hot paths, the trace's
// string in renderers), so no caller has to format addresses to ask.
func FrameEffect[M comparable](verdict string, sha, after M) Effect {
	switch verdict {
	case Honoured:
		return EffectHonoured
	case Created:
		return EffectCreated
	case Ignored:
		if sha == after {
			return EffectNoop
		}
		return EffectIgnored
	}
	return EffectDropped
}

// Effect classifies a KindARP or KindND event with FrameEffect ("" for
// other kinds).
func (e *Event) Effect() Effect {
	if e.Kind != KindARP && e.Kind != KindND {
		return ""
	}
	sha := ""
	if e.ARP != nil {
		sha = e.ARP.SHA
	}
	if e.ND != nil {
		sha = e.ND.LLAddr // an NA's TLLAO, an NS's SLLAO
	}
	return FrameEffect(e.Verdict, sha, e.LLAddr)
}
