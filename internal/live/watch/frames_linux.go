//go:build linux

package watch

// The watcher's AF_PACKET side: the ARP socket with its BPF filter, batches
// of frames, their packet type and kernel timestamp.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"time"
	"unsafe"

	"github.com/mdlayher/packet"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"arplab/internal/nsexec"
	"arplab/internal/wire/arp"
	"arplab/internal/wire/ether"
	"arplab/internal/wire/ndisc"
)

func mustAssemble(insns ...bpf.Instruction) []bpf.RawInstruction {
	raw, err := bpf.Assemble(insns)
	if err != nil {
		panic(fmt.Sprintf("watch: assembling BPF %v: %v", insns, err))
	}
	return raw
}

// listenARP opens an AF_PACKET socket on every interface of the namespace
// for ETH_P_ALL — a protocol-specific socket would miss the frames this host
// sends (dev_queue_xmit_nit feeds only ETH_P_ALL taps) — filtered to ARP,
// with kernel receive timestamps.
func listenARP(netns string) (*packet.Conn, error) {
	var conn *packet.Conn
	err := nsexec.Do(netns, func() error {
		var err error
		conn, err = packet.Listen(&net.Interface{Index: 0}, packet.Raw, unix.ETH_P_ALL, &packet.Config{Filter: arpOnly})
		return err
	})
	if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
		return nil, fmt.Errorf("watch: capturing ARP needs CAP_NET_RAW (run as root): %w", err)
	}
	if err != nil {
		return nil, fmt.Errorf("watch: AF_PACKET socket in namespace %q: %w", netns, err)
	}
	rc, err := conn.SyscallConn()
	if err == nil {
		cerr := rc.Control(func(fd uintptr) {
			err = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1)
			// A busy segment queues thousands of frames while the
			// loop is descheduled: give the socket room (beyond
			// rmem_max with CAP_NET_ADMIN); what still overflows is
			// counted from PACKET_STATISTICS.
			if unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, packetBuffer) != nil {
				unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, packetBuffer)
			}
		})
		if cerr != nil {
			err = cerr
		}
	}
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("watch: enabling packet timestamps: %w", err)
	}
	return conn, nil
}

// readFrames decodes ARP frames until conn is closed or done is. A batch
// it holds when the loop has stopped is dropped: with the channel full it
// would otherwise block for ever, and the watcher's stop with it. recvmmsg (rawReader) is used
// directly because the packet type (sll_pkttype: host, broadcast,
// outgoing…) decides what the kernel does with a frame and
// packet.Conn.ReadFrom drops it. Frames go to the loop in batches of what
// the socket held (up to frameBatch): on a busy segment one wake-up of
// the loop per frame would cost more than the frame.
func readFrames(conn *packet.Conn, batches chan<- []input, done <-chan struct{}) error {
	rc, err := conn.SyscallConn()
	if err != nil {
		return fmt.Errorf("watch: packet socket: %w", err)
	}
	r := newRawReader()
	for {
		batch := make([]input, 0, frameBatch)
		var rerr error
		err := rc.Read(func(fd uintptr) bool {
			for len(batch) < frameBatch {
				want := frameBatch - len(batch)
				n, err := r.recv(fd, want)
				if err == unix.EAGAIN {
					return len(batch) > 0 // wait for more only when there is nothing to hand over
				}
				if err == unix.EINTR {
					continue
				}
				if err != nil {
					rerr = err
					return true
				}
				for i := range n {
					if in, ok := decodeFrame(r.frame(i)); ok {
						batch = append(batch, in)
					}
				}
				if n < want && len(batch) > 0 {
					return true // the socket had no more: hand over what came
				}
			}
			return true
		})
		if err != nil {
			return fmt.Errorf("watch: reading ARP frames: %w", err)
		}
		if rerr != nil {
			return fmt.Errorf("watch: reading ARP frames: %w", rerr)
		}
		select {
		case batches <- batch:
		case <-done:
			return nil
		}
	}
}

// rawReader receives up to frameBatch frames per recvmmsg into buffers it
// reuses: one system call for what the socket holds, not one per frame
// (at 10,000 frames/s the calls were a sixth of the watcher's CPU). The
// call is a raw system call: with MSG_DONTWAIT it never blocks (waiting is
// the netpoller's, in conn's Read), so it need not tell the Go scheduler,
// and not telling it matters on a busy segment. Each scheduler-visible
// system call made after the process was idle wakes the runtime's monitor
// thread (sysmon), which then polls every 20 µs for a millisecond or more:
// profiled at 10,000 frames/s that thread was a third of the watcher's CPU.
type rawReader struct {
	buf  [frameBatch][2048]byte
	oob  [frameBatch][32]byte // unix.CmsgSpace(16): one SCM_TIMESTAMPNS
	iov  [frameBatch]unix.Iovec
	sa   [frameBatch]unix.RawSockaddrLinklayer
	msgs [frameBatch]unix.Mmsghdr
	from unix.SockaddrLinklayer
}

func newRawReader() *rawReader {
	r := &rawReader{}
	for i := range r.msgs {
		r.iov[i].Base = &r.buf[i][0]
		r.iov[i].SetLen(len(r.buf[i]))
		h := &r.msgs[i].Hdr
		h.Name = (*byte)(unsafe.Pointer(&r.sa[i]))
		h.Iov = &r.iov[i]
		h.Iovlen = 1
		h.Control = &r.oob[i][0]
	}
	return r
}

// recv reads up to max frames (at most frameBatch) and says how many came.
func (r *rawReader) recv(fd uintptr, max int) (int, error) {
	for i := range max {
		h := &r.msgs[i].Hdr
		h.Namelen = uint32(unsafe.Sizeof(r.sa[i]))
		h.SetControllen(len(r.oob[i]))
		h.Flags = 0
	}
	got, _, errno := unix.RawSyscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&r.msgs[0])), uintptr(max), unix.MSG_DONTWAIT, 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(got), nil
}

// frame returns the i-th frame of the last recv: its bytes, its control
// data and its sender's link-layer address (valid until the next frame).
func (r *rawReader) frame(i int) (b, oob []byte, from unix.Sockaddr) {
	m := &r.msgs[i]
	b, oob = r.buf[i][:min(int(m.Len), len(r.buf[i]))], r.oob[i][:m.Hdr.Controllen]
	sa := &r.sa[i]
	if sa.Family != unix.AF_PACKET {
		return b, oob, nil // decodeFrame drops it
	}
	r.from = unix.SockaddrLinklayer{Protocol: sa.Protocol, Ifindex: int(sa.Ifindex), Hatype: sa.Hatype,
		Pkttype: sa.Pkttype, Halen: sa.Halen, Addr: sa.Addr}
	return b, oob, &r.from
}

// frameBatch is the most frames handed to the loop at once.
const frameBatch = 64

// decodeFrame turns one received frame into an input; ok is false for
// what arp_process or ndisc_rcv would not take either (not Ethernet/IPv4
// ARP, not a well-formed ND message).
func decodeFrame(b, oob []byte, from unix.Sockaddr) (input, bool) {
	sll, ok := from.(*unix.SockaddrLinklayer)
	if !ok {
		return input{}, false
	}
	var eh ether.Header
	off, err := eh.Unmarshal(b)
	if err != nil {
		return input{}, false
	}
	at := time.Now()
	if ts, ok := timestamp(oob); ok {
		at = ts
	}
	switch eh.EtherType {
	case ether.EtherTypeARP:
		var p arp.Packet
		if err := p.Unmarshal(b[off:]); err != nil {
			return input{}, false
		}
		// one allocation for the observation and its frame: at 10,000
		// frames/s the garbage collector notices
		both := &struct {
			o obs
			f frameObs
		}{o: obs{at: at}, f: frameObs{pktType: ether.PktType(sll.Pkttype), ethDst: eh.Dst, pkt: p}}
		both.o.frame = &both.f
		return input{ifindex: sll.Ifindex, o: &both.o}, true
	case ether.EtherTypeIPv6:
		all := &struct {
			o obs
			f frameObs
			m ndisc.Message
		}{o: obs{at: at}, f: frameObs{pktType: ether.PktType(sll.Pkttype), ethDst: eh.Dst, ethSrc: eh.Src}}
		if err := all.m.Unmarshal(b[off:]); err != nil {
			return input{}, false
		}
		all.f.nd = &all.m
		all.o.frame = &all.f
		return input{ifindex: sll.Ifindex, o: &all.o}, true
	}
	return input{}, false
}

// timestamp extracts SCM_TIMESTAMPNS.
func timestamp(oob []byte) (time.Time, bool) {
	// the usual case, read in place: one cmsghdr (64-bit: len, level,
	// type) followed by a struct timespec
	if len(oob) == unix.CmsgSpace(16) && binary.NativeEndian.Uint64(oob[0:8]) == uint64(unix.CmsgLen(16)) &&
		int32(binary.NativeEndian.Uint32(oob[8:12])) == unix.SOL_SOCKET &&
		int32(binary.NativeEndian.Uint32(oob[12:16])) == unix.SCM_TIMESTAMPNS && unix.CmsgLen(0) == 16 {
		sec := int64(binary.NativeEndian.Uint64(oob[16:24]))
		nsec := int64(binary.NativeEndian.Uint64(oob[24:32]))
		return time.Unix(sec, nsec), true
	}
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return time.Time{}, false
	}
	for _, m := range msgs {
		if m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SCM_TIMESTAMPNS && len(m.Data) >= 16 {
			// struct timespec: two native longs (64-bit kernels)
			sec := int64(binary.NativeEndian.Uint64(m.Data[0:8]))
			nsec := int64(binary.NativeEndian.Uint64(m.Data[8:16]))
			return time.Unix(sec, nsec), true
		}
	}
	return time.Time{}, false
}
