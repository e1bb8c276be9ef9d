package lab

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"arplab/internal/kclock"
	"arplab/internal/labnet"
)

// Ports of the servers every namespace of a run listens on, so a flow
// reaches whichever namespace owns its destination when it starts.
const (
	flowTCPPort = 7777
	flowUDPPort = 7778
)

// servers answers flows in one namespace: a TCP line echo (each request
// line gets "ok\n") and a UDP sink.
type servers struct {
	ln  net.Listener
	udp net.PacketConn

	mu    sync.Mutex
	conns []net.Conn
	wg    sync.WaitGroup
}

func startServers(h *labnet.Host) (*servers, error) {
	s := &servers{}
	// With IPv6 on, one dual-stack socket ([::]) serves both families.
	tcp, udp := "tcp4", "udp4"
	if h.IPv6() {
		tcp, udp = "tcp", "udp"
	}
	err := h.Do(func() error {
		var lc net.ListenConfig
		var err error
		if s.ln, err = lc.Listen(context.Background(), tcp, ":"+strconv.Itoa(flowTCPPort)); err != nil {
			return err
		}
		s.udp, err = lc.ListenPacket(context.Background(), udp, ":"+strconv.Itoa(flowUDPPort))
		return err
	})
	if err != nil {
		s.close()
		return nil, fmt.Errorf("lab: %s: flow servers: %w", h.NSName(), err)
	}
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		for {
			c, err := s.ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				sc := bufio.NewScanner(c)
				for sc.Scan() {
					if _, err := c.Write([]byte("ok\n")); err != nil {
						return
					}
				}
			}()
		}
	}()
	go func() {
		defer s.wg.Done()
		buf := make([]byte, 2048)
		for {
			if _, _, err := s.udp.ReadFrom(buf); err != nil {
				return
			}
		}
	}()
	return s, nil
}

func (s *servers) close() {
	if s.ln != nil {
		s.ln.Close()
	}
	if s.udp != nil {
		s.udp.Close()
	}
	s.mu.Lock()
	for _, c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// flowRunner runs one scenario flow from a host until stop is closed or
// the flow's own end.
type flowRunner struct {
	h        *labnet.Host
	rec      *RunFlow
	interval time.Duration
	timeout  time.Duration // ssh/tcp: give up connecting after this
	until    int64         // CLOCK_MONOTONIC end of the flow
	stop     <-chan struct{}

	mu sync.Mutex
}

func (f *flowRunner) set(fn func(r *RunFlow)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f.rec)
}

// late records how far behind its schedule (sched, mono ns) a send is.
func (f *flowRunner) late(sched int64) {
	if d := time.Duration(kclock.MonoNs(time.Now()) - sched); d > 0 {
		f.set(func(r *RunFlow) { r.Late = max(r.Late, d) })
	}
}

// sleepUntil waits until ns or stop.
func sleepUntil(stop <-chan struct{}, ns int64) bool {
	d := time.Duration(ns - kclock.MonoNs(time.Now()))
	if d <= 0 {
		select {
		case <-stop:
			return false
		default:
			return true
		}
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-stop:
		return false
	case <-t.C:
		return true
	}
}

func (f *flowRunner) run() {
	switch f.rec.Kind {
	case "udp":
		f.runUDP()
	default:
		f.runTCP()
	}
	f.set(func(r *RunFlow) { r.EndNs = kclock.MonoNs(time.Now()) })
}

// dialTCP connects from inside the host's namespace, retrying after
// "No route to host" (the neighbour failed) as an SSH client would, until
// the deadline.
func (f *flowRunner) dialTCP(deadline int64) (net.Conn, error) {
	addr := netip.AddrPortFrom(f.rec.To, flowTCPPort).String()
	for {
		left := time.Duration(deadline - kclock.MonoNs(time.Now()))
		if left <= 0 {
			return nil, fmt.Errorf("not connected within %v", f.timeout)
		}
		var c net.Conn
		var derr error
		ctx, cancel := context.WithTimeout(context.Background(), left)
		go func() {
			select {
			case <-f.stop:
				cancel()
			case <-ctx.Done():
			}
		}()
		err := f.h.Do(func() error {
			var d net.Dialer
			c, derr = d.DialContext(ctx, "tcp", addr) // the address's family
			return nil
		})
		cancel()
		if err != nil {
			return nil, err
		}
		if derr == nil {
			return c, nil
		}
		select {
		case <-f.stop:
			return nil, derr
		default:
		}
		if !errors.Is(derr, syscall.EHOSTUNREACH) && !errors.Is(derr, syscall.ECONNREFUSED) {
			return nil, derr
		}
		// The kernel reported the neighbour as failed; try again the
		// way a client retries, a second later.
		if !sleepUntil(f.stop, kclock.MonoNs(time.Now())+int64(time.Second)) {
			return nil, derr
		}
	}
}

func (f *flowRunner) runTCP() {
	start := kclock.MonoNs(time.Now())
	deadline := min(start+int64(f.timeout), f.until)
	c, err := f.dialTCP(deadline)
	if err != nil {
		f.set(func(r *RunFlow) { r.Err = err.Error() })
		return
	}
	defer c.Close()
	if ap, err := netip.ParseAddrPort(c.LocalAddr().String()); err == nil {
		f.set(func(r *RunFlow) { r.LocalPort = int(ap.Port()) })
	}
	f.set(func(r *RunFlow) { r.ConnectedNs = kclock.MonoNs(time.Now()); r.OK = true })
	requests := -1 // tcp: until the end
	if f.rec.Kind == "ssh" {
		requests = 3 // a short session, then close
	}
	rd := bufio.NewReader(c)
	next := kclock.MonoNs(time.Now())
	for n := 0; requests < 0 || n < requests; n++ {
		if next >= f.until || !sleepUntil(f.stop, next) {
			return
		}
		f.late(next)
		next += int64(f.interval)
		if _, err := c.Write([]byte("req " + strconv.Itoa(n) + "\n")); err != nil {
			f.set(func(r *RunFlow) { r.Err = err.Error() })
			return
		}
		f.set(func(r *RunFlow) { r.Sent++ })
		c.SetReadDeadline(time.Now().Add(max(f.interval, 200*time.Millisecond)))
		if _, err := rd.ReadString('\n'); err == nil {
			f.set(func(r *RunFlow) { r.Answered++ })
		}
	}
}

func (f *flowRunner) runUDP() {
	var c net.Conn
	err := f.h.Do(func() error {
		var err error
		c, err = net.Dial("udp", netip.AddrPortFrom(f.rec.To, flowUDPPort).String()) // the address's family
		return err
	})
	if err != nil {
		f.set(func(r *RunFlow) { r.Err = err.Error() })
		return
	}
	defer c.Close()
	if ap, err := netip.ParseAddrPort(c.LocalAddr().String()); err == nil {
		f.set(func(r *RunFlow) { r.LocalPort = int(ap.Port()) })
	}
	rc, err := c.(*net.UDPConn).SyscallConn()
	if err != nil {
		f.set(func(r *RunFlow) { r.Err = err.Error() })
		return
	}
	flags := 0
	if f.rec.Confirm {
		flags = unix.MSG_CONFIRM
	}
	f.set(func(r *RunFlow) { r.OK = true })
	next := kclock.MonoNs(time.Now())
	for n := 0; ; n++ {
		// The first datagram goes out even when the flow started after
		// its end: a loaded machine can start a 100 ms flow late, and the
		// suite's one-datagram flows (at: T, until: T+0.1s) must still
		// send it; verify compares against the recorded send time.
		if (n > 0 && next >= f.until) || !sleepUntil(f.stop, next) {
			return
		}
		f.late(next)
		next += int64(f.interval)
		msg := []byte("dgram " + strconv.Itoa(n))
		var serr error
		rc.Write(func(fd uintptr) bool {
			serr = unix.Sendto(int(fd), msg, flags, nil)
			return !errors.Is(serr, unix.EAGAIN)
		})
		// A failed neighbour makes send report EHOSTUNREACH: the
		// datagram was dropped, which is what a UDP sender sees.
		if serr == nil {
			f.set(func(r *RunFlow) { r.Sent++ })
		}
	}
}
