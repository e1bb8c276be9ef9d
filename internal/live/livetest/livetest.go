//go:build linux

// Package livetest builds throwaway network namespaces for the live
// packages' tests: two namespaces joined by a veth pair, named
// arplabt-<pid>-<n>-{s,o} and always deleted in t.Cleanup. Nothing here
// touches the host's own interfaces; the veth ends are created directly
// inside the namespaces.
//
// Tests that use it need root (CAP_SYS_ADMIN for `ip netns add`,
// CAP_NET_ADMIN, CAP_NET_RAW); Need skips with a message saying so.
package livetest

import (
	"bytes"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"arplab/internal/nsexec"
	"arplab/internal/wire/arp"

	"github.com/gopacket/gopacket/pcapgo"
)

// Need skips t unless the process is root and the tools exist.
func Need(t testing.TB, tools ...string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: network namespaces, veth pairs and AF_PACKET sockets (run `go test` as root, as CI does)")
	}
	for _, tool := range append([]string{"ip"}, tools...) {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s on PATH: %v", tool, err)
		}
	}
}

// Addresses used by Pair, following field notes §G.
var (
	SenderMAC   = arp.MAC{0x02, 0x00, 0x00, 0x00, 0x00, 0xbb}
	ObserverMAC = arp.MAC{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}
	OldMAC      = arp.MAC{0x02, 0x00, 0x00, 0x00, 0x00, 0xaa} // the VIP's previous owner
	VIP         = netip.MustParseAddr("10.99.0.100")
	ObserverIP  = netip.MustParseAddr("10.99.0.1")
)

// Pair is a sender namespace (owning VIP on SenderDev) and an observer
// namespace (ObserverIP on ObserverDev) on one veth link.
type Pair struct {
	Sender, Observer       string // namespace names
	SenderDev, ObserverDev string
}

var seq atomic.Int32

// NewPair creates the namespaces and the link, both ends up and carrying frames, IPv6 off so
// that no DAD or MLD traffic mixes with the ARP under test.
func NewPair(t testing.TB) *Pair {
	t.Helper()
	Need(t)
	base := fmt.Sprintf("arplabt-%d-%d", os.Getpid(), seq.Add(1))
	p := &Pair{Sender: base + "-s", Observer: base + "-o", SenderDev: "s0", ObserverDev: "o0"}
	for _, ns := range []string{p.Sender, p.Observer} {
		if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
			t.Skipf("cannot create network namespace %s (needs CAP_SYS_ADMIN and a writable /run/netns): %v: %s", ns, err, out)
		}
		t.Cleanup(func() {
			if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
				t.Errorf("deleting namespace %s: %v: %s", ns, err, out)
			}
		})
		for _, key := range []string{"net/ipv6/conf/all/disable_ipv6", "net/ipv6/conf/default/disable_ipv6"} {
			Sysctl(t, ns, key, "1")
		}
	}
	p.Link(t)
	return p
}

// Link creates the pair's veth with its addresses and MACs, up and ready;
// NewPair calls it, and a test that deleted the veth (an interface that
// comes and goes) calls it again.
func (p *Pair) Link(t testing.TB) {
	t.Helper()
	IP(t, "", "link", "add", p.SenderDev, "netns", p.Sender, "type", "veth",
		"peer", "name", p.ObserverDev, "netns", p.Observer)
	IP(t, p.Sender, "link", "set", p.SenderDev, "address", SenderMAC.String())
	IP(t, p.Observer, "link", "set", p.ObserverDev, "address", ObserverMAC.String())
	IP(t, p.Sender, "addr", "add", VIP.String()+"/24", "dev", p.SenderDev)
	IP(t, p.Observer, "addr", "add", ObserverIP.String()+"/24", "dev", p.ObserverDev)
	IP(t, p.Sender, "link", "set", p.SenderDev, "up")
	IP(t, p.Observer, "link", "set", p.ObserverDev, "up")
	// Frames sent before linkwatch activates the devices are dropped: a
	// test's first GARP could vanish on a busy machine.
	p.WaitReady(t)
}

// WaitReady waits until both veth ends carry frames: a device that is up
// but not yet activated by linkwatch (qdisc noop, up to a second after
// carrier) drops what is sent.
func (p *Pair) WaitReady(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for _, end := range [][2]string{{p.Sender, p.SenderDev}, {p.Observer, p.ObserverDev}} {
		for {
			out := IP(t, end[0], "link", "show", "dev", end[1])
			if strings.Contains(out, "state UP") && !strings.Contains(out, "qdisc noop") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s in %s not ready after 5 s: %s", end[1], end[0], out)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// IP runs `ip -n ns args...` (no -n when ns is empty) and fails t on error.
func IP(t testing.TB, ns string, args ...string) string {
	t.Helper()
	out, err := TryIP(ns, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TryIP is IP returning the error instead of failing.
func TryIP(ns string, args ...string) (string, error) {
	if ns != "" {
		args = append([]string{"-n", ns}, args...)
	}
	var stderr bytes.Buffer
	cmd := exec.Command("ip", args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out), nil
}

// Exec runs a command inside namespace ns (`ip netns exec`) and returns
// its combined output.
func Exec(ns string, name string, args ...string) (string, error) {
	full := append([]string{"netns", "exec", ns, name}, args...)
	out, err := exec.Command("ip", full...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("ip %s: %v: %s", strings.Join(full, " "), err, out)
	}
	return string(out), nil
}

// Sysctl writes /proc/sys/<key> inside namespace ns.
func Sysctl(t testing.TB, ns, key, value string) {
	t.Helper()
	err := nsexec.Do(ns, func() error {
		return os.WriteFile("/proc/sys/"+key, []byte(value), 0)
	})
	if err != nil {
		t.Fatalf("sysctl %s=%s in %s: %v", key, value, ns, err)
	}
}

// Neigh returns the observer-side `ip neigh show` line for ip on dev, or ""
// when there is no entry.
func Neigh(t testing.TB, ns, dev string, ip netip.Addr) string {
	t.Helper()
	return strings.TrimSpace(IP(t, ns, "neigh", "show", ip.String(), "dev", dev))
}

// Capture is a tcpdump writing a pcap file inside a namespace.
type Capture struct {
	cmd  *exec.Cmd
	path string
	errb bytes.Buffer
}

// StartCapture runs `tcpdump -i dev -w FILE -U -c count filter` in ns and
// returns once tcpdump says it is listening.
func StartCapture(t testing.TB, ns, dev string, count int, filter string) *Capture {
	t.Helper()
	Need(t, "tcpdump")
	c := &Capture{path: t.TempDir() + "/capture.pcap"}
	args := []string{"netns", "exec", ns, "tcpdump", "-i", dev, "-w", c.path, "-U", "-c", fmt.Sprint(count)}
	args = append(args, strings.Fields(filter)...)
	c.cmd = exec.Command("ip", args...)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	c.cmd.Stderr = w
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("starting tcpdump: %v", err)
	}
	w.Close()
	t.Cleanup(func() {
		if c.cmd.ProcessState == nil {
			c.cmd.Process.Kill()
			c.cmd.Wait()
		}
	})
	// tcpdump prints "listening on DEV, link-type …" once the socket is
	// bound; frames sent before that would be missed.
	buf := make([]byte, 4096)
	for {
		n, err := r.Read(buf)
		c.errb.Write(buf[:n])
		if strings.Contains(c.errb.String(), "listening on") {
			break
		}
		if err != nil {
			t.Fatalf("tcpdump did not start: %v: %s", err, c.errb.String())
		}
	}
	go func() { // drain the rest so tcpdump never blocks on stderr
		for {
			if _, err := r.Read(buf); err != nil {
				r.Close()
				return
			}
		}
	}()
	return c
}

// Frames waits for tcpdump to exit after its count and returns the frames.
func (c *Capture) Frames(t testing.TB) [][]byte {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- c.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("tcpdump: %v: %s", err, c.errb.String())
		}
	case <-time.After(10 * time.Second):
		c.cmd.Process.Kill()
		<-done
		t.Fatalf("tcpdump did not see its frames within 10 s: %s", c.errb.String())
	}
	return c.frames(t)
}

// frames reads the capture's file with pcapgo: the frames tcpdump wrote.
func (c *Capture) frames(t testing.TB) [][]byte {
	t.Helper()
	f, err := os.Open(c.path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", c.path, err)
	}
	var frames [][]byte
	for {
		data, _, err := r.ReadPacketData()
		if err == io.EOF {
			return frames
		}
		if err != nil {
			t.Fatalf("%s: frame %d: %v", c.path, len(frames)+1, err)
		}
		frames = append(frames, data)
	}
}

// IPv6 addresses of a Pair after EnableIPv6.
var (
	VIP6        = netip.MustParseAddr("2001:db8:99::100")
	ObserverIP6 = netip.MustParseAddr("2001:db8:99::1")
)

// EnableIPv6 turns IPv6 back on in both namespaces (NewPair turns it off)
// and, unless noAddrs, configures VIP6 on the sender and ObserverIP6 on the
// observer without DAD, so that they are usable at once. The link-local
// addresses still go through DAD, so expect their NS, RS and MLD frames.
func (p *Pair) EnableIPv6(t testing.TB, noAddrs bool) {
	t.Helper()
	for _, end := range [][2]string{{p.Sender, p.SenderDev}, {p.Observer, p.ObserverDev}} {
		for _, key := range []string{"all", "default", end[1]} {
			Sysctl(t, end[0], "net/ipv6/conf/"+key+"/disable_ipv6", "0")
		}
	}
	if noAddrs {
		return
	}
	IP(t, p.Sender, "-6", "addr", "add", VIP6.String()+"/64", "dev", p.SenderDev, "nodad")
	IP(t, p.Observer, "-6", "addr", "add", ObserverIP6.String()+"/64", "dev", p.ObserverDev, "nodad")
}

// Stop ends the capture before its count (tcpdump flushes its file on
// SIGINT) and returns the frames it has; use it when the test does not
// know how many frames will come.
func (c *Capture) Stop(t testing.TB) [][]byte {
	t.Helper()
	time.Sleep(100 * time.Millisecond) // let frames in flight reach the socket
	if c.cmd.ProcessState == nil {
		c.cmd.Process.Signal(os.Interrupt)
		c.cmd.Wait()
	}
	return c.frames(t)
}
