package trace

import (
	"bytes"
	"encoding/json"
	"math/bits"
	"strings"
	"testing"
	"unicode/utf8"
)

// quotedByteByByte is appendQuoted as it was before it copied runs: one
// byte (or rune) at a time. The fuzz target holds the two to the same
// bytes.
func quotedByteByByte(b []byte, s string) []byte {
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
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// FuzzAppendQuoted: the run-copying quoter writes the same bytes as the
// byte-by-byte one, valid JSON that decodes to s (with invalid UTF-8
// replaced, as encoding/json does).
func FuzzAppendQuoted(f *testing.F) {
	for _, s := range []string{"", "plain words", `a "quoted" \ path`, "tab\there\nnew\rline", "\x00\x01\x1f\x7f",
		"§4.4 → locktime", "\u2028\u2029x", "bad \xff\xfe utf8 \xe2\x82", "\ufffd kept", strings.Repeat("é", 40)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := appendQuoted([]byte("x"), s)
		want := quotedByteByByte([]byte("x"), s)
		if !bytes.Equal(got, want) {
			t.Fatalf("appendQuoted(%q) = %s, byte by byte %s", s, got, want)
		}
		var back string
		if err := json.Unmarshal(got[1:], &back); err != nil {
			t.Fatalf("appendQuoted(%q) = %s: not a JSON string: %v", s, got, err)
		}
		if clean := strings.ToValidUTF8(s, "\ufffd"); back != clean && utf8.ValidString(s) {
			t.Fatalf("appendQuoted(%q) decodes to %q", s, back)
		}
	})
}

// BenchmarkAppendQuoted quotes a typical explanation, with and without
// a multi-byte rune.
func BenchmarkAppendQuoted(b *testing.B) {
	for name, s := range map[string]string{
		"section": "the entry is REACHABLE and the frame's lladdr is the one it has: neigh_update() with NEIGH_UPDATE_F_OVERRIDE (§5 step 7) changes nothing",
		"ascii":   "the entry is REACHABLE and the frame's lladdr is the one it has: neigh_update() with NEIGH_UPDATE_F_OVERRIDE changes nothing",
	} {
		b.Run(name, func(b *testing.B) {
			buf := make([]byte, 0, 256)
			b.SetBytes(int64(len(s)))
			for b.Loop() {
				buf = appendQuoted(buf[:0], s)
			}
		})
	}
}

// TestSpecialBytes: the first byte specialBytes marks is the first byte
// that is not plain, for every byte value at every place of a word of
// plain bytes (appendQuoted's copy of it is held by FuzzAppendQuoted).
func TestSpecialBytes(t *testing.T) {
	for c := 0; c < 256; c++ {
		for pos := 0; pos < 8; pos++ {
			w := []byte("abcdefgh")
			w[pos] = byte(c)
			m := specialBytes(string(w))
			special := c < 0x20 || c == '"' || c == '\\' || c >= 0x80
			first := -1
			if m != 0 {
				first = bits.TrailingZeros64(m) >> 3
			}
			if special && first != pos || !special && m != 0 {
				t.Fatalf("byte %#x at %d: mask %#x", c, pos, m)
			}
		}
	}
}
