package labnet

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/mdlayher/packet"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"arplab/internal/labsys"
	"arplab/internal/wire/ether"
)

// RawPort is an AF_PACKET socket bound to one interface of a host. It sees
// every ARP frame on the interface in both directions, including the ones
// the host's kernel sends (ether.PktOutgoing), but not the ones sent through
// the port itself. Send may be called concurrently with Recv; Recv is for
// one reader at a time.
type RawPort struct {
	host   *Host
	ifname string
	ifi    *net.Interface
	conn   *packet.Conn
	rc     syscall.RawConn

	mu     sync.Mutex
	closed bool
}

// arpOnly accepts frames with EtherType 0x0806. The socket listens to
// ETH_P_ALL (only "all" taps see outgoing frames) and this filter, attached
// before bind, keeps everything else out.
var arpOnly = mustAssemble([]bpf.Instruction{
	bpf.LoadAbsolute{Off: 12, Size: 2},
	bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.ETH_P_ARP, SkipFalse: 1},
	bpf.RetConstant{Val: 1 << 16},
	bpf.RetConstant{Val: 0},
})

func mustAssemble(p []bpf.Instruction) []bpf.RawInstruction {
	raw, err := bpf.Assemble(p)
	if err != nil {
		panic(fmt.Sprintf("lab: assemble BPF: %v", err))
	}
	return raw
}

// OpenRaw opens a raw ARP port on ifname inside the host's namespace. The
// lab closes it on Close.
func (h *Host) OpenRaw(ifname string) (*RawPort, error) {
	p := &RawPort{host: h, ifname: ifname}
	err := h.do(func() error {
		var err error
		if p.ifi, err = net.InterfaceByName(ifname); err != nil {
			return fmt.Errorf("lab: %s: find %s: %w", h.ns, ifname, err)
		}
		p.conn, err = packet.Listen(p.ifi, packet.Raw, unix.ETH_P_ALL, &packet.Config{Filter: arpOnly})
		if err != nil {
			return labsys.PermErr(fmt.Sprintf("%s: open AF_PACKET on %s (needs CAP_NET_RAW)", h.ns, ifname), err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if p.rc, err = p.conn.SyscallConn(); err != nil {
		p.conn.Close()
		return nil, fmt.Errorf("lab: raw port %s: %w", ifname, err)
	}
	l := h.lab
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		p.conn.Close()
		return nil, labsys.ErrClosed
	}
	l.ports = append(l.ports, p)
	return p, nil
}

// Interface returns the interface the port is bound to (its index is the
// one inside the host's namespace).
func (p *RawPort) Interface() *net.Interface { return p.ifi }

// Send transmits frame (a whole Ethernet frame, header included) and
// returns the time just after the kernel accepted it. On a veth the frame
// is usually processed by the receiver's ARP code before sendto returns, so
// sentAt is an upper bound on the send and close to the receive.
func (p *RawPort) Send(frame []byte) (sentAt time.Time, err error) {
	if len(frame) < 14 {
		return time.Time{}, fmt.Errorf("lab: frame of %d bytes is shorter than an Ethernet header", len(frame))
	}
	dst := net.HardwareAddr(append([]byte(nil), frame[:6]...))
	_, err = p.conn.WriteTo(frame, &packet.Addr{HardwareAddr: dst})
	sentAt = time.Now()
	if err != nil {
		return sentAt, fmt.Errorf("lab: send on %s in %s: %w", p.ifname, p.host.ns, err)
	}
	return sentAt, nil
}

// Recv waits for the next ARP frame or for ctx to end.
func (p *RawPort) Recv(ctx context.Context) (Frame, error) {
	if d, ok := ctx.Deadline(); ok {
		p.conn.SetReadDeadline(d)
	} else {
		p.conn.SetReadDeadline(time.Time{})
	}
	stop := context.AfterFunc(ctx, func() { p.conn.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()

	buf := make([]byte, 1<<16)
	var (
		n    int
		from unix.Sockaddr
		rerr error
	)
	err := p.rc.Read(func(fd uintptr) bool {
		n, from, rerr = unix.Recvfrom(int(fd), buf, unix.MSG_DONTWAIT)
		return !errors.Is(rerr, unix.EAGAIN)
	})
	at := time.Now()
	if err == nil {
		err = rerr
	}
	if err != nil {
		if cerr := ctx.Err(); cerr != nil && errors.Is(err, os.ErrDeadlineExceeded) {
			return Frame{}, cerr
		}
		return Frame{}, fmt.Errorf("lab: receive on %s in %s: %w", p.ifname, p.host.ns, err)
	}
	f := Frame{Data: buf[:n:n], At: at}
	if sll, ok := from.(*unix.SockaddrLinklayer); ok {
		f.Type = ether.PktType(sll.Pkttype)
	}
	return f, nil
}

// Close closes the socket. It is safe to call twice.
func (p *RawPort) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	p.closed = true
	return p.conn.Close()
}
