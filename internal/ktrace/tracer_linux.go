package ktrace

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"arplab/internal/labsys"
)

// tracefsDefault is where tracefs is normally mounted.
const tracefsDefault = "/sys/kernel/tracing"

// syncTag prefixes the trace_marker lines Sync writes.
const syncTag = "arplab-sync "

type tracerSys struct {
	root    string // tracefs mount used
	mounted string // our private mount point, if we made one
	inst    string // root/instances/<name>
	clock   string
	enabled []string

	fd       int
	stop     chan struct{}
	done     chan struct{}
	syncMu   sync.Mutex
	syncNext int
}

// NewTracer creates the trace instance instances/<name>, enables the
// requested neigh events in it and starts reading its trace_pipe. The
// global trace buffer and other instances are not touched. If tracefs is
// not mounted at /sys/kernel/tracing, it is mounted at a private directory
// under /run/arplab (and unmounted by Close), so that concurrent runs never
// unmount each other's tracefs. Name it "arplab-<pid>[-tag]" so that
// CleanStale can remove it after a crash.
func NewTracer(name string, opts TracerOptions) (*Tracer, error) {
	if err := labsys.ValidFileName("trace instance name", name, 200); err != nil {
		return nil, err
	}
	t := &Tracer{name: name, changed: make(chan struct{}), onEvent: opts.OnEvent, onLost: opts.OnLost}
	t.sys.fd = -1
	if err := t.setup(opts); err != nil {
		t.cleanup()
		return nil, err
	}
	return t, nil
}

func isTracefs(dir string) bool {
	var st unix.Statfs_t
	return unix.Statfs(dir, &st) == nil && st.Type == unix.TRACEFS_MAGIC
}

// mountTracefs mounts a private tracefs at dir.
func mountTracefs(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return labsys.PermErr("create "+dir, err)
	}
	if err := unix.Mount("nodev", dir, "tracefs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		os.Remove(dir)
		if errors.Is(err, unix.ENODEV) {
			return fmt.Errorf("lab: kernel has no tracefs (CONFIG_TRACING): %w", err)
		}
		return labsys.PermErr("mount tracefs at "+dir, err)
	}
	return nil
}

func unmountTracefs(dir string) error {
	err := unix.Unmount(dir, 0)
	if errors.Is(err, unix.EBUSY) {
		err = unix.Unmount(dir, unix.MNT_DETACH)
	}
	if err != nil && !errors.Is(err, unix.EINVAL) {
		return labsys.PermErr("unmount "+dir, err)
	}
	os.Remove(dir)
	return nil
}

func (t *Tracer) setup(opts TracerOptions) error {
	s := &t.sys
	if !opts.PrivateMount && isTracefs(tracefsDefault) {
		s.root = tracefsDefault
	} else {
		dir := filepath.Join(labsys.StateDir, t.name+"-tracefs")
		if err := mountTracefs(dir); err != nil {
			return err
		}
		s.root, s.mounted = dir, dir
	}
	s.inst = filepath.Join(s.root, "instances", t.name)
	if err := os.Mkdir(s.inst, 0o755); err != nil {
		s.inst = ""
		return labsys.PermErr("create trace instance "+t.name, err)
	}
	// CLOCK_MONOTONIC timestamps are comparable with MonoNs(sentAt); the
	// default "local" clock is not comparable with anything in userspace.
	s.clock = "local"
	if labsys.WriteProc(filepath.Join(s.inst, "trace_clock"), "mono") == nil {
		s.clock = "mono"
	}
	// Wake trace_pipe pollers on every event, not when the buffer is half
	// full (the default buffer_percent of 50 would stall poll).
	labsys.WriteProc(filepath.Join(s.inst, "buffer_percent"), "0")
	if opts.BufferKB > 0 {
		if err := labsys.WriteProc(filepath.Join(s.inst, "buffer_size_kb"), strconv.Itoa(opts.BufferKB)); err != nil {
			return fmt.Errorf("lab: set trace buffer size: %w", err)
		}
	}
	events := opts.Events
	if events == nil {
		events = DefaultEvents
	}
	var formats []*EventFormat
	for _, ev := range events {
		dir := filepath.Join(s.inst, "events", "neigh", ev)
		text, err := os.ReadFile(filepath.Join(dir, "format"))
		if errors.Is(err, os.ErrNotExist) {
			continue // this kernel lacks the event
		}
		if err != nil {
			return fmt.Errorf("lab: read format of neigh:%s: %w", ev, err)
		}
		f, err := ParseEventFormat(string(text))
		if err != nil {
			return err
		}
		formats = append(formats, f)
		if err := labsys.WriteProc(filepath.Join(dir, "filter"), devFilter(opts.Devs)); err != nil {
			return fmt.Errorf("lab: set filter of neigh:%s to %q: %w", ev, devFilter(opts.Devs), err)
		}
		if err := labsys.WriteProc(filepath.Join(dir, "enable"), "1"); err != nil {
			return labsys.PermErr("enable neigh:"+ev, err)
		}
		s.enabled = append(s.enabled, ev)
	}
	if len(s.enabled) == 0 {
		return fmt.Errorf("lab: none of the neigh events %v exists in this kernel", events)
	}
	labsys.WriteProc(filepath.Join(s.inst, "tracing_on"), "1")

	fd, err := unix.Open(filepath.Join(s.inst, "trace_pipe"), unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return labsys.PermErr("open trace_pipe", err)
	}
	s.fd = fd
	s.stop = make(chan struct{})
	s.done = make(chan struct{})
	go t.read(NewParser(formats...))
	return nil
}

// devFilter builds an event filter for the device names ("0" clears it).
func devFilter(devs []string) string {
	if len(devs) == 0 {
		return "0"
	}
	parts := make([]string, len(devs))
	for i, d := range devs {
		parts[i] = fmt.Sprintf("dev == %q", d)
	}
	return strings.Join(parts, " || ")
}

// SetDevs replaces the device filter of every enabled event.
func (t *Tracer) SetDevs(devs ...string) error {
	for _, d := range devs {
		if err := labsys.ValidIfName(d); err != nil {
			return err
		}
	}
	for _, ev := range t.sys.enabled {
		p := filepath.Join(t.sys.inst, "events", "neigh", ev, "filter")
		if err := labsys.WriteProc(p, devFilter(devs)); err != nil {
			return fmt.Errorf("lab: set filter of neigh:%s: %w", ev, err)
		}
	}
	return nil
}

// Enabled lists the events that are on.
func (t *Tracer) Enabled() []string { return append([]string(nil), t.sys.enabled...) }

// Clock returns the trace clock of TimestampNs: "mono" (CLOCK_MONOTONIC)
// unless the kernel refused it.
func (t *Tracer) Clock() string { return t.sys.clock }

// Sync writes a marker into the instance and waits until the reader has
// read it. Every event the kernel recorded before Sync was called is then
// in Events.
func (t *Tracer) Sync(ctx context.Context) error {
	t.sys.syncMu.Lock()
	t.sys.syncNext++
	seq := t.sys.syncNext
	err := labsys.WriteProc(filepath.Join(t.sys.inst, "trace_marker"), fmt.Sprintf("%s%d", syncTag, seq))
	t.sys.syncMu.Unlock()
	if err != nil {
		return fmt.Errorf("lab: write trace marker: %w", err)
	}
	return t.waitSync(ctx, seq)
}

// read is the reader goroutine: poll trace_pipe, split lines, parse.
func (t *Tracer) read(p *Parser) {
	defer close(t.sys.done)
	buf := make([]byte, 64<<10)
	var partial []byte
	for {
		select {
		case <-t.sys.stop:
			return
		default:
		}
		fds := []unix.PollFd{{Fd: int32(t.sys.fd), Events: unix.POLLIN}}
		if _, err := unix.Poll(fds, 50); err != nil && !errors.Is(err, unix.EINTR) {
			t.fail(fmt.Errorf("lab: poll trace_pipe: %w", err))
			return
		}
		n, err := unix.Read(t.sys.fd, buf)
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) || (err == nil && n == 0) {
			// Nothing yet. Poll may report readiness early on some
			// kernels; the pause keeps that from spinning.
			time.Sleep(5 * time.Millisecond)
			continue
		}
		if err != nil {
			t.fail(fmt.Errorf("lab: read trace_pipe: %w", err))
			return
		}
		partial = append(partial, buf[:n]...)
		i := bytes.LastIndexByte(partial, '\n')
		if i < 0 {
			continue
		}
		lines := strings.Split(string(partial[:i]), "\n")
		partial = append(partial[:0], partial[i+1:]...)

		var evs []Event
		var perrs []error
		lost, syncSeen := 0, 0
		for _, line := range lines {
			ev, err := p.Parse(line)
			var le *LostEventsError
			switch {
			case errors.As(err, &le):
				lost += le.Lost
			case errors.Is(err, errNotEvent):
			case err != nil:
				perrs = append(perrs, err)
			case ev.Event == "tracing_mark_write":
				if _, num, ok := strings.Cut(ev.Raw, syncTag); ok {
					if seq, err := strconv.Atoi(strings.TrimSpace(num)); err == nil && seq > syncSeen {
						syncSeen = seq
					}
				}
			default:
				evs = append(evs, ev)
			}
		}
		t.record(evs, lost, perrs, syncSeen)
	}
}

// Close stops reading, removes the instance and undoes our tracefs mount.
// It is safe to call twice.
func (t *Tracer) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	close(t.changed)
	t.changed = make(chan struct{})
	t.mu.Unlock()
	return t.cleanup()
}

func (t *Tracer) cleanup() error {
	s := &t.sys
	if s.stop != nil {
		close(s.stop)
		<-s.done
		s.stop = nil
	}
	if s.fd >= 0 {
		unix.Close(s.fd)
		s.fd = -1
	}
	var first error
	if s.inst != "" {
		first = removeInstance(s.inst)
		s.inst = ""
	}
	if s.mounted != "" {
		if err := unmountTracefs(s.mounted); err != nil && first == nil {
			first = err
		}
		s.mounted = ""
	}
	return first
}

// removeInstance deletes a trace instance. rmdir fails with EBUSY while a
// reader still has a file of it open, so retry for a moment.
func removeInstance(dir string) error {
	var err error
	for i := 0; i < 50; i++ {
		err = unix.Rmdir(dir)
		if err == nil || errors.Is(err, unix.ENOENT) {
			return nil
		}
		if !errors.Is(err, unix.EBUSY) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	return labsys.PermErr("remove trace instance "+dir, err)
}

// Dir returns the trace instance's directory (events/, trace_pipe, …).
func (t *Tracer) Dir() string { return t.sys.inst }
