package trace

import (
	"math"
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
// HTML escaping.
func appendQuoted(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else if r == '\u2028' || r == '\u2029' {
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
