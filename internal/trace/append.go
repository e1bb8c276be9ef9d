package trace

import (
	"math"
	"math/bits"
	"sort"
	"strconv"
	"unicode/utf8"
)

// AppendJSON appends e as one JSON object (no newline), with the field
// names and omissions of the struct tags. It is the hand-written twin of
// encoding/json for the hot path of replay and the simulator (about ten
// times faster, no reflection); TestAppendJSONMatchesEncodingJSON holds
// the two to the same decoded value.
func (e *Event) AppendJSON(b []byte) []byte {
	b = append(b, `{"time":`...)
	b = appendFloat(b, e.Time)
	b = appendStr(b, "kind", string(e.Kind))
	b = appendStr(b, "source", e.Source)
	b = appendStr(b, "host", e.Host)
	b = appendStr(b, "dev", e.Dev)
	b = appendStr(b, "ip", e.IP)
	b = appendStr(b, "lladdr", e.LLAddr)
	b = appendStr(b, "state", e.State)
	b = appendStr(b, "old_lladdr", e.OldLLAddr)
	b = appendStr(b, "old_state", e.OldState)
	b = appendStr(b, "cause", e.Cause)
	b = appendStr(b, "rule", e.Rule)
	b = appendStr(b, "verdict", e.Verdict)
	b = appendStr(b, "explanation", e.Explanation)
	if e.Frame != 0 {
		b = append(b, `,"frame":`...)
		b = strconv.AppendInt(b, int64(e.Frame), 10)
	}
	if a := e.ARP; a != nil {
		b = append(b, `,"arp":{"op":`...)
		b = appendQuoted(b, a.Op)
		b = appendReq(b, "sha", a.SHA)
		b = appendReq(b, "sip", a.SIP)
		b = appendReq(b, "tha", a.THA)
		b = appendReq(b, "tip", a.TIP)
		b = appendStr(b, "eth_dst", a.EthDst)
		b = appendStr(b, "pkt_type", a.PktType)
		if a.GARP {
			b = append(b, `,"garp":true`...)
		}
		b = append(b, '}')
	}
	if n := e.ND; n != nil {
		b = append(b, `,"nd":{"type":`...)
		b = appendQuoted(b, n.Type)
		b = appendReq(b, "src", n.Src)
		b = appendReq(b, "dst", n.Dst)
		b = appendStr(b, "target", n.Target)
		for _, f := range []struct {
			name string
			on   bool
		}{{"router", n.Router}, {"solicited", n.Solicited}, {"override", n.Override}} {
			if f.on {
				b = append(b, `,"`...)
				b = append(b, f.name...)
				b = append(b, `":true`...)
			}
		}
		b = appendStr(b, "lladdr", n.LLAddr)
		if n.HopLimit != 0 {
			b = append(b, `,"hop_limit":`...)
			b = strconv.AppendInt(b, int64(n.HopLimit), 10)
		}
		b = appendStr(b, "eth_dst", n.EthDst)
		b = appendStr(b, "pkt_type", n.PktType)
		b = append(b, '}')
	}
	b = appendU64(b, "jiffies", e.Jiffies)
	b = appendU64(b, "updated", e.Updated)
	b = appendU64(b, "confirmed", e.Confirmed)
	if e.LocktimeUntil != nil {
		b = append(b, `,"locktime_until":`...)
		b = appendFloat(b, *e.LocktimeUntil)
	}
	b = appendStr(b, "flow", e.Flow)
	if e.OK != nil {
		b = append(b, `,"ok":`...)
		b = strconv.AppendBool(b, *e.OK)
	}
	if len(e.Attrs) > 0 {
		keys := make([]string, 0, len(e.Attrs))
		for k := range e.Attrs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b = append(b, `,"attrs":{`...)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendQuoted(b, k)
			b = append(b, ':')
			b = appendQuoted(b, e.Attrs[k])
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

// appendStr appends ,"k":"v" unless v is empty (omitempty).
func appendStr(b []byte, k, v string) []byte {
	if v == "" {
		return b
	}
	return appendReq(b, k, v)
}

// appendReq appends ,"k":"v" always.
func appendReq(b []byte, k, v string) []byte {
	b = append(b, ',', '"')
	b = append(b, k...)
	b = append(b, '"', ':')
	return appendQuoted(b, v)
}

func appendU64(b []byte, k string, v *uint64) []byte {
	if v == nil {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, k...)
	b = append(b, '"', ':')
	return strconv.AppendUint(b, *v, 10)
}

// appendFloat writes a number JSON accepts, spelled as encoding/json
// spells it: plain decimals (a capture's 1700000020.05, not
// 1.70000002005e+09) except below 1e-6 or from 1e21 on, the shortest
// digits that read back the same. NaN and infinities (which no producer
// writes) become 0 rather than invalid JSON.
func appendFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, '0')
	}
	if a := math.Abs(f); a == 0 || (a >= 1e-6 && a < 1e21) {
		return strconv.AppendFloat(b, f, 'f', -1, 64)
	}
	n := len(b)
	b = strconv.AppendFloat(b, f, 'e', -1, 64)
	// e-07 → e-7, as encoding/json writes it
	if m := len(b) - n; m >= 4 && b[len(b)-4] == 'e' && b[len(b)-3] == '-' && b[len(b)-2] == '0' {
		b[len(b)-2] = b[len(b)-1]
		b = b[:len(b)-1]
	}
	return b
}

// appendQuoted writes s as a JSON string: quotes, backslashes and control
// characters escaped, invalid UTF-8 replaced, like encoding/json without
// HTML escaping. Runs of bytes that need nothing (printable ASCII, and
// valid UTF-8 other than U+2028 and U+2029) are copied whole: a replay's
// --json explanations are long plain sentences, and appending them a
// byte at a time was a third of its instructions.
func appendQuoted(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	b = append(b, '"')
	run := 0 // start of the run of bytes not yet written that need nothing
	for i := 0; i < len(s); {
		if i+8 <= len(s) {
			// specialBytes, by hand: the inliner finds it too costly
			w := s[i : i+8]
			x := uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
				uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
			q, bs := x^'"'*ones, x^'\\'*ones
			m := highs & (x | (x-0x20*ones)&^x | (q-ones)&^q | (bs-ones)&^bs)
			if m == 0 {
				i += 8
				continue
			}
			i += bits.TrailingZeros64(m) >> 3 // the first byte that needs a look
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if plainJSON[c] {
				i++
				continue
			}
			b = append(b, s[run:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			run = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[run:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[run:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			i += size // valid: part of the run
			continue
		}
		i += size
		run = i
	}
	b = append(b, s[run:]...)
	return append(b, '"')
}

// specialBytes marks, in the high bit of each byte's place, the bytes of
// w (8 of them, little-endian) that are not printable ASCII other than
// '"' and '\\': a control byte, '"', '\\' or a byte of a multi-byte rune.
// It tests the 8 at once with the "has a byte less than n" and "has a zero
// byte" bit tricks; a borrow can set marks above the first true one, never
// below it, so the lowest mark is exact. Explanations are long runs of
// plain bytes.
func specialBytes(w string) uint64 {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	x := uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
		uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
	q, bs := x^'"'*ones, x^'\\'*ones // a zero byte where x has '"', '\\'
	return highs & (x | (x-0x20*ones)&^x | (q-ones)&^q | (bs-ones)&^bs)
}

// plainJSON marks the ASCII bytes a JSON string holds as they are.
var plainJSON = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()
