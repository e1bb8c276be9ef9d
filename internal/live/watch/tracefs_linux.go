//go:build linux

package watch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// tracer reads neigh:neigh_update from a private tracefs instance, so it
// neither sees nor disturbs anyone else's tracing (field notes §C.8).
type tracer struct {
	dir   string // the instance directory, removed by close
	fd    int
	mono0 time.Duration // CLOCK_MONOTONIC at wall0, to convert trace times
	wall0 time.Time
}

var tracefsRoots = []string{"/sys/kernel/tracing", "/sys/kernel/debug/tracing"}

// tracefsRoot finds a mounted tracefs, mounting one on /sys/kernel/tracing
// when there is none. The mount is left in place on exit: other tools may
// start using it, and it costs nothing.
func tracefsRoot() (string, error) {
	for _, r := range tracefsRoots {
		if _, err := os.Stat(filepath.Join(r, "instances")); err == nil {
			return r, nil
		}
	}
	if err := unix.Mount("nodev", tracefsRoots[0], "tracefs", 0, ""); err != nil {
		return "", fmt.Errorf("watch: tracefs is not mounted and mounting it on %s failed (needs root): %w", tracefsRoots[0], err)
	}
	return tracefsRoots[0], nil
}

// openTracer creates instances/arplab-watch-<pid>, enables neigh_update for
// IPv4 on devs and opens trace_pipe.
func openTracer(devs []string) (*tracer, error) {
	root, err := tracefsRoot()
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(root, "events", "neigh", "neigh_update")); err != nil {
		return nil, fmt.Errorf("watch: this kernel has no neigh:neigh_update tracepoint (include/trace/events/neigh.h, added in 2018): %w", err)
	}
	t := &tracer{fd: -1}
	base := filepath.Join(root, "instances", instanceName(os.Getpid()))
	t.dir = base
	for i := 2; ; i++ {
		err := os.Mkdir(t.dir, 0o755)
		if err == nil {
			break
		}
		if !errors.Is(err, os.ErrExist) || i > 100 {
			return nil, fmt.Errorf("watch: creating tracefs instance: %w", err)
		}
		t.dir = fmt.Sprintf("%s-%d", base, i) // a second Watch in the same process
	}
	if err := t.setup(devs); err != nil {
		t.close()
		return nil, err
	}
	return t, nil
}

func (t *tracer) write(rel, value string) error {
	if err := os.WriteFile(filepath.Join(t.dir, rel), []byte(value), 0); err != nil {
		return fmt.Errorf("watch: tracefs %s = %q: %w", rel, value, err)
	}
	return nil
}

func (t *tracer) setup(devs []string) error {
	// The mono clock lets trace times be converted to wall-clock times
	// and compared with packet timestamps.
	if err := t.write("trace_clock", "mono"); err != nil {
		return err
	}
	filter := "family == 2"
	if len(devs) > 0 {
		var or []string
		for _, d := range devs {
			or = append(or, fmt.Sprintf("dev == %q", d))
		}
		filter += " && (" + strings.Join(or, " || ") + ")"
	}
	if err := t.write("events/neigh/neigh_update/filter", filter); err != nil {
		return err
	}
	if err := t.write("events/neigh/neigh_update/enable", "1"); err != nil {
		return err
	}
	fd, err := unix.Open(filepath.Join(t.dir, "trace_pipe"), unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("watch: opening trace_pipe: %w", err)
	}
	t.fd = fd
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return fmt.Errorf("watch: clock_gettime: %w", err)
	}
	t.wall0 = time.Now()
	t.mono0 = time.Duration(ts.Nano())
	return nil
}

// run reads trace_pipe until ctx ends, polling so that cancellation is
// noticed within 100 ms.
func (t *tracer) run(ctx context.Context, inputs chan<- input) error {
	buf := make([]byte, 64*1024)
	var pending []byte
	for ctx.Err() == nil {
		pfd := []unix.PollFd{{Fd: int32(t.fd), Events: unix.POLLIN}}
		if _, err := unix.Poll(pfd, 100); err != nil && err != unix.EINTR {
			return fmt.Errorf("watch: polling trace_pipe: %w", err)
		}
		n, err := unix.Read(t.fd, buf)
		if err == unix.EAGAIN || err == unix.EINTR || n == 0 {
			continue
		}
		if err != nil {
			return fmt.Errorf("watch: reading trace_pipe: %w", err)
		}
		pending = append(pending, buf[:n]...)
		for {
			i := bytes.IndexByte(pending, '\n')
			if i < 0 {
				break
			}
			line := string(pending[:i])
			pending = pending[i+1:]
			if o := t.parse(line); o != nil {
				select {
				case inputs <- input{o: o}:
				case <-ctx.Done():
					return nil
				}
			}
		}
	}
	return nil
}

// parse turns a trace_pipe line into an observation: a tracepoint, or a
// note when the ring buffer lost events.
func (t *tracer) parse(line string) *obs {
	if strings.Contains(line, "LOST") && strings.Contains(line, "EVENTS") {
		return &obs{at: time.Now(), note: "tracefs: " + strings.TrimSpace(line)}
	}
	tp, ok, err := parseTracepoint(line)
	if err != nil {
		return &obs{at: time.Now(), note: "tracefs: unparsed line: " + err.Error()}
	}
	if !ok {
		return nil
	}
	return &obs{at: t.wall0.Add(tp.mono - t.mono0), tp: &tp}
}

// close disables the event and removes the instance.
func (t *tracer) close() error {
	_ = t.write("events/neigh/neigh_update/enable", "0")
	if t.fd >= 0 {
		unix.Close(t.fd)
		t.fd = -1
	}
	var err error
	for range 20 { // rmdir is refused while the kernel still holds the pipe
		if err = unix.Rmdir(t.dir); err == nil || errors.Is(err, unix.ENOENT) {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("watch: removing tracefs instance %s: %w", t.dir, err)
}

// instanceName names this process's tracefs instance.
func instanceName(pid int) string { return "arplab-watch-" + strconv.Itoa(pid) }
