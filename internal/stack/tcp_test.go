package stack

import (
	"testing"

	"arplab/internal/wire/ipv4"
)

// seg is a TCP segment for the rule's tests.
func seg(seq, ack uint32, flags uint8, data int, wnd uint16) ipv4.TCP {
	return ipv4.TCP{Seq: seq, Ack: ack, Flags: flags, DataLen: data, Window: wnd}
}

const ack = ipv4.FlagACK

// TestTCPAckRule: when tcp_ack confirms the neighbour (spec §6.3). Each
// case is a sequence of segments the host sent (tx) and received (rx);
// want is whether each received segment confirms.
func TestTCPAckRule(t *testing.T) {
	type step struct {
		tx   bool
		s    ipv4.TCP
		want bool
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"forward progress confirms", []step{
			{tx: true, s: seg(100, 0, ipv4.FlagSYN, 0, 0)},
			{s: seg(500, 101, ipv4.FlagSYN|ack, 0, 1000), want: true},
		}},
		{"nothing in flight: no confirmation", []step{
			{tx: true, s: seg(100, 0, ipv4.FlagSYN, 0, 0)},
			{s: seg(500, 101, ipv4.FlagSYN|ack, 0, 1000), want: true},
			{s: seg(501, 101, ack, 10, 1000), want: false},
		}},
		{"a pure ACK starts no tracking", []step{
			{tx: true, s: seg(100, 500, ack, 0, 1000)},
			{s: seg(500, 100, ack, 0, 1000), want: false},
		}},
		{"data starts tracking mid-connection", []step{
			{tx: true, s: seg(100, 500, ack, 50, 1000)},
			{s: seg(500, 150, ack, 0, 1000), want: true},
		}},
		{"duplicate ACK with data in flight confirms", []step{
			{tx: true, s: seg(100, 500, ack, 50, 1000)},
			{s: seg(500, 120, ack, 0, 900), want: true},  // forward progress, window 900 remembered
			{s: seg(500, 120, ack, 0, 900), want: true},  // pure duplicate: same ack, same window
			{s: seg(500, 120, ack, 0, 800), want: false}, // window update: not a duplicate
			{s: seg(500, 120, ack, 5, 800), want: false}, // carries data: not a duplicate
		}},
		{"ACK beyond snd_nxt is ignored, window and all", []step{
			{tx: true, s: seg(100, 500, ack, 50, 1000)},
			{s: seg(500, 120, ack, 0, 900), want: true},
			{s: seg(500, 9999, ack, 0, 700), want: false}, // acks unsent data: tcp_ack returns first
			{s: seg(500, 120, ack, 0, 900), want: true},   // still a duplicate of the 900 window
		}},
		{"old ACK below snd_una is ignored", []step{
			{tx: true, s: seg(100, 500, ack, 50, 1000)},
			{s: seg(500, 140, ack, 0, 900), want: true},
			{s: seg(500, 110, ack, 0, 900), want: false},
		}},
		{"a SYN restarts tracking (a new connection on the 4-tuple)", []step{
			{tx: true, s: seg(100, 500, ack, 50, 1000)},
			{s: seg(500, 150, ack, 0, 900), want: true},
			{tx: true, s: seg(7000, 0, ipv4.FlagSYN, 0, 0)},
			{s: seg(800, 150, ack, 0, 900), want: false}, // acks the old connection's data: not in this one
			{s: seg(800, 7001, ipv4.FlagSYN|ack, 0, 900), want: true},
		}},
		{"RST neither starts nor confirms", []step{
			{tx: true, s: seg(100, 0, ipv4.FlagRST, 0, 0)},
			{s: seg(500, 101, ack|ipv4.FlagRST, 0, 0), want: false},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c TCPSend
			for i, st := range tt.steps {
				if st.tx {
					c.Sent(st.s)
					continue
				}
				if got := c.Received(st.s); got != st.want {
					t.Errorf("step %d (ack %d window %d): confirms %v, want %v", i, st.s.Ack, st.s.Window, got, st.want)
				}
			}
		})
	}
}
