package labnet

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mdlayher/packet"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"arplab/internal/kclock"
	"arplab/internal/labsys"
	"arplab/internal/wire/ether"
)

// capSnap is how much of an IPv4 or IPv6 frame a Capture keeps: Ethernet,
// IPv4 with options and the TCP header with options fit, and so do an
// IPv6 header and any neighbour-discovery message the lab sends or the
// kernel answers with (an NS or NA with its link-layer and nonce options
// is under 100 bytes).
const capSnap = 14 + 60 + 60

// arpOrIP accepts frames with EtherType 0x0806, 0x0800 or 0x86dd.
var arpOrIP = mustAssemble([]bpf.Instruction{
	bpf.LoadAbsolute{Off: 12, Size: 2},
	bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.ETH_P_ARP, SkipTrue: 2},
	bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.ETH_P_IP, SkipTrue: 1},
	bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.ETH_P_IPV6, SkipFalse: 1},
	bpf.RetConstant{Val: 1 << 16},
	bpf.RetConstant{Val: 0},
})

// Capture records every ARP, IPv4 and IPv6 frame of one interface, in
// both directions, with the kernel's timestamp: for received frames the
// moment the driver handed them to the stack (just before arp_rcv,
// ip_rcv or ipv6_rcv), for sent ones the moment they were handed to the
// driver (just after the neighbour output path). IP frames are cut after
// capSnap bytes.
type Capture struct {
	conn       *packet.Conn
	rc         syscall.RawConn
	realToMono int64

	closing atomic.Bool
	mu      sync.Mutex
	frames  []Captured
	err     error
	done    chan struct{}
}

// realMonoOffset returns CLOCK_MONOTONIC − CLOCK_REALTIME in ns; socket
// timestamps are CLOCK_REALTIME.
func realMonoOffset() int64 {
	best := int64(1 << 62)
	var off int64
	for range 5 {
		var r0, m, r1 unix.Timespec
		unix.ClockGettime(unix.CLOCK_REALTIME, &r0)
		unix.ClockGettime(unix.CLOCK_MONOTONIC, &m)
		unix.ClockGettime(unix.CLOCK_REALTIME, &r1)
		if w := r1.Nano() - r0.Nano(); w < best {
			best = w
			off = m.Nano() - (r0.Nano()+r1.Nano())/2
		}
	}
	return off
}

// StartCapture opens a capture socket on ifname inside the host's
// namespace and records until Stop.
func (h *Host) StartCapture(ifname string) (*Capture, error) {
	r := &Capture{done: make(chan struct{})}
	err := h.do(func() error {
		ifi, err := net.InterfaceByName(ifname)
		if err != nil {
			return fmt.Errorf("lab: %s: find %s: %w", h.ns, ifname, err)
		}
		r.conn, err = packet.Listen(ifi, packet.Raw, unix.ETH_P_ALL, &packet.Config{Filter: arpOrIP})
		if err != nil {
			return labsys.PermErr(fmt.Sprintf("%s: open AF_PACKET on %s", h.ns, ifname), err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if r.rc, err = r.conn.SyscallConn(); err != nil {
		r.conn.Close()
		return nil, err
	}
	var serr error
	r.rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1)
		if serr == nil {
			// As root the buffer may exceed rmem_max; a burst of TCP
			// must not overrun it.
			if unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 8<<20) != nil {
				unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, 8<<20)
			}
		}
	})
	if serr != nil {
		r.conn.Close()
		return nil, fmt.Errorf("lab: enable packet timestamps on %s: %w", ifname, serr)
	}
	r.realToMono = realMonoOffset()
	go r.read()
	return r, nil
}

func (r *Capture) read() {
	defer close(r.done)
	buf := make([]byte, 1<<16)
	oob := make([]byte, unix.CmsgSpace(16))
	for {
		var n, oobn int
		var from unix.Sockaddr
		var rerr error
		err := r.rc.Read(func(fd uintptr) bool {
			n, oobn, _, from, rerr = unix.Recvmsg(int(fd), buf, oob, unix.MSG_DONTWAIT)
			return !errors.Is(rerr, unix.EAGAIN)
		})
		if err == nil {
			err = rerr
		}
		if err != nil {
			if !r.closing.Load() {
				r.mu.Lock()
				r.err = err
				r.mu.Unlock()
			}
			return
		}
		now := kclock.MonoNs(time.Now())
		f := Captured{AtNs: now, Len: n}
		if sll, ok := from.(*unix.SockaddrLinklayer); ok {
			f.Type = ether.PktType(sll.Pkttype)
		}
		if ts, ok := cmsgTimestamp(oob[:oobn]); ok {
			f.AtNs, f.Stamped = ts+r.realToMono, true
		}
		keep := n
		if et := etherType(buf[:n]); (et == unix.ETH_P_IP || et == unix.ETH_P_IPV6) && keep > capSnap {
			keep = capSnap
		}
		f.Data = append([]byte(nil), buf[:keep]...)
		r.mu.Lock()
		r.frames = append(r.frames, f)
		r.mu.Unlock()
	}
}

// cmsgTimestamp extracts SCM_TIMESTAMPNS (CLOCK_REALTIME) in ns.
func cmsgTimestamp(oob []byte) (int64, bool) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return 0, false
	}
	for _, m := range msgs {
		if m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SCM_TIMESTAMPNS && len(m.Data) >= 16 {
			sec := int64(binary.NativeEndian.Uint64(m.Data[0:8]))
			nsec := int64(binary.NativeEndian.Uint64(m.Data[8:16]))
			if sec == 0 && nsec == 0 {
				return 0, false
			}
			return sec*1e9 + nsec, true
		}
	}
	return 0, false
}

// Stop waits until the socket holds nothing more (the kernel has queued
// every frame sent before Stop was called), closes it and returns the
// frames in the order they were read. A second call returns nothing.
func (r *Capture) Stop() ([]Captured, error) {
	// Frames are queued synchronously on veths; a short pause lets the
	// reader drain what is in the socket.
	deadline := time.Now().Add(200 * time.Millisecond)
	for time.Now().Before(deadline) {
		var pending int
		r.rc.Control(func(fd uintptr) {
			pending, _ = unix.IoctlGetInt(int(fd), unix.SIOCINQ)
		})
		if pending == 0 {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	time.Sleep(5 * time.Millisecond)
	if r.closing.Swap(true) {
		<-r.done
		return nil, nil
	}
	r.conn.Close()
	<-r.done
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.frames, r.err
}

// etherType is the frame's EtherType, 0 if it is too short to have one.
func etherType(b []byte) uint16 {
	if len(b) < 14 {
		return 0
	}
	return binary.BigEndian.Uint16(b[12:])
}
