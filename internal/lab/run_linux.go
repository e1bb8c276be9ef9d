package lab

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"arplab/internal/kclock"
	"arplab/internal/ktrace"
	"arplab/internal/labnet"
	"arplab/internal/labsys"
	"arplab/internal/scenario"
	"arplab/internal/trace"
)

var runSeq atomic.Int32

// runEvents are the tracepoints a run records: every neighbour event the
// kernel has (those it lacks are skipped).
var runEvents = []string{
	"neigh_create", "neigh_update", "neigh_update_done", "neigh_timer_handler",
	"neigh_event_send_done", "neigh_event_send_dead", "neigh_cleanup_and_release",
}

// RunScenario runs s on the running kernel: one namespace per host and per
// station, a bridge per segment, the hosts' sysctls, frames injected from
// raw sockets at the scripted times, real TCP/UDP flows, and the observed
// hosts' neighbour tables read at every step and check. With tracefs the
// neigh:* tracepoints are recorded too. Everything the lab created is
// removed before it returns, also on error, and on SIGINT/SIGTERM (the
// process then exits); leftovers of killed runs are removed first. The
// run's trace (kernel side) goes to sink, which may be nil.
func RunScenario(ctx context.Context, s *scenario.Scenario, opt RunOptions, sink trace.Sink) (*LabRun, error) {
	if s == nil {
		return nil, errors.New("lab: RunScenario: no scenario")
	}
	if opt.Calibration <= 0 {
		opt.Calibration = 12 * time.Millisecond
	}
	if opt.PollPeriodic == 0 {
		opt.PollPeriodic = 20 * time.Millisecond
	}
	if opt.Logf == nil {
		opt.Logf = func(string, ...any) {}
	}
	labnet.CleanStale(labsys.StalePrefix) // a killed run's leftovers; errors are not ours to fix
	prefix := opt.Prefix
	if prefix == "" {
		prefix = fmt.Sprintf("%s-r%d", labnet.DefaultPrefix(), runSeq.Add(1))
	}
	l, err := labnet.New(prefix)
	if err != nil {
		return nil, err
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	l.CloseOnSignal(runCtx)

	b := &runner{l: l, s: s, opt: opt, ctx: runCtx, stop: make(chan struct{}),
		run: &LabRun{Scenario: s.Name, File: s.File}}
	err = b.do()
	b.shutdown()
	if cerr := l.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	if sink != nil {
		for _, ev := range b.run.Events() {
			sink.Emit(ev)
		}
	}
	return b.run, nil
}

// runner holds one run's lab objects.
type runner struct {
	l   *labnet.Lab
	s   *scenario.Scenario
	opt RunOptions
	ctx context.Context
	run *LabRun

	hosts    map[string]*labnet.Host // scenario host name → namespace
	stations map[string]*station
	devs     map[string]map[string]string // host → scenario dev → lab ifname
	observed []string                     // observed host names, scenario order
	cal      *labnet.Host
	calIf    string
	tracer   *ktrace.Tracer
	recs     []*recording
	srv      []*servers
	flows    []*flowRunner
	stop     chan struct{}
	wg       sync.WaitGroup

	mu     sync.Mutex // guards run's slices written by goroutines, owners
	owners map[netip.Addr]string
}

// recording is the capture of one observed interface.
type recording struct {
	host, dev string // scenario names
	c         *labnet.Capture
}

// station is a station of the scenario: a namespace with a raw port.
type station struct {
	cfg    *scenario.Station
	host   *labnet.Host
	ifname string
	port   *labnet.RawPort
	bits   map[netip.Addr]int // prefix length to use for each IP
}

func (b *runner) logf(format string, args ...any) { b.opt.Logf(format, args...) }

func (b *runner) note(format string, args ...any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.run.Notes = append(b.run.Notes, fmt.Sprintf(format, args...))
}

func (b *runner) do() error {
	var err error
	r := b.run
	if r.Release, err = labsys.KernelRelease(); err != nil {
		return err
	}
	if r.HZ, r.HZMethod, err = kclock.DetectHZ(); err != nil {
		return err
	}
	r.IPv6 = UsesIPv6(b.s)
	b.notes()
	if err := b.build(); err != nil {
		return err
	}
	if err := b.configure(); err != nil {
		return err
	}
	first, err := b.calibrate("start")
	if err != nil {
		return err
	}
	if err := b.script(); err != nil {
		return err
	}
	last, err := b.calibrate("end")
	if err != nil {
		return err
	}
	return b.collect(append(first, last...))
}

// notes records what the lab does not reproduce.
func (b *runner) notes() {
	for _, g := range b.s.Segments {
		if g.Loss > 0 {
			b.note("segment %s: loss %v is not reproduced (frames are never lost in the lab)", g.Name, g.Loss)
		}
		if g.Jitter.D > 0 {
			b.note("segment %s: latency and jitter are not reproduced (veth pairs and a bridge: microseconds)", g.Name)
		}
	}
	for _, h := range b.s.Hosts {
		for _, n := range h.Neighbours {
			if n.Age.D > 0 {
				b.note("host %s neighbour %v: age %v is not reproduced (the entry is created at t=0)", h.Name, n.IP, n.Age.D)
			}
		}
		if h.HZ != 0 || len(h.Patches) > 0 {
			b.note("host %s: patches and hz describe a simulated kernel; the lab runs the running kernel", h.Name)
		}
	}
	for _, e := range b.s.Script {
		if e.Vary.D > 0 {
			b.note("script line %d: vary is ignored (single run at the written time)", e.Line)
		}
	}
}

// collect stops the recorders and the tracer and fits the clock.
func (b *runner) collect(cal []kclock.Sample) error {
	var frames []RunFrame
	for _, r := range b.recs {
		fs, err := r.c.Stop()
		if err != nil {
			b.note("capture on %s/%s: %v", r.host, r.dev, err)
		}
		for _, f := range fs {
			frames = append(frames, RunFrame{Host: r.host, Dev: r.dev, AtNs: f.AtNs, Stamped: f.Stamped, Type: f.Type, Data: f.Data, Len: f.Len})
		}
	}
	b.recs = nil
	slices.SortStableFunc(frames, func(a, c RunFrame) int {
		switch {
		case a.AtNs < c.AtNs:
			return -1
		case a.AtNs > c.AtNs:
			return 1
		}
		return 0
	})
	b.run.Frames = frames
	for _, f := range b.flows {
		f.mu.Lock()
		b.run.Flows = append(b.run.Flows, *f.rec)
		f.mu.Unlock()
	}
	if b.tracer != nil {
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		err := b.tracer.Sync(ctx)
		cancel()
		if err != nil {
			return fmt.Errorf("lab: collect trace: %w", err)
		}
		for _, ev := range b.tracer.Events() {
			if ev.Dev == b.calIf {
				continue
			}
			b.run.Trace = append(b.run.Trace, ev)
		}
		b.run.TraceLost = b.tracer.Lost()
		if b.run.TraceLost > 0 {
			b.note("the trace buffer overran: %d tracepoint events lost", b.run.TraceLost)
		}
		if errs := b.tracer.ParseErrors(); len(errs) > 0 {
			b.note("%d trace lines could not be parsed, e.g. %v", len(errs), errs[0])
		}
	}
	b.run.Checks = EvalChecks(b.run, b.s.Checks)
	c, err := kclock.Fit(b.run.HZ, cal)
	if err != nil {
		return err
	}
	for _, s := range b.run.StampSamples() {
		if c.Jiffies(s.Ns) != s.J {
			c.Misfits++
		}
	}
	b.run.Clock = c
	return nil
}

// shutdown stops what the run started; the lab removes the rest.
func (b *runner) shutdown() {
	select {
	case <-b.stop:
	default:
		close(b.stop)
	}
	b.wg.Wait()
	for _, r := range b.recs {
		r.c.Stop()
	}
	for _, s := range b.srv {
		s.close()
	}
}
