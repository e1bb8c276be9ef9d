package stack

import "testing"

// TestTCPSendFieldsAsMethods: Sent's seqLen, read from a segment's fields,
// is the segment's SeqLen for every combination of flags and a few
// payload lengths.
func TestTCPSendFieldsAsMethods(t *testing.T) {
	for f := 0; f < 256; f++ {
		for _, data := range []int{0, 1, 100, 1 << 20} {
			s := seg(7, 0, uint8(f), data, 0)
			if got, want := seqLen(s.Flags, s.DataLen), s.SeqLen(); got != want {
				t.Fatalf("flags %#x data %d: seqLen %d, SeqLen %d", f, data, got, want)
			}
		}
	}
}
