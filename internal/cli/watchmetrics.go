package cli

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/spf13/pflag"

	"arplab/internal/live/doctor"
	"arplab/internal/live/metrics"
	"arplab/internal/live/watch"
	"arplab/internal/trace"
)

// metricsFlags are watch's --metrics, --quiet, --per-ip and --per-ip-max.
type metricsFlags struct {
	addr     string
	quiet    bool
	perIP    bool
	perIPMax int
}

func (m *metricsFlags) register(f *pflag.FlagSet) {
	f.StringVar(&m.addr, "metrics", "", "serve Prometheus metrics at http://ADDR/metrics (e.g. 127.0.0.1:9717); tries the tracepoint too")
	f.BoolVar(&m.quiet, "quiet", false, "with --metrics: no text/JSON stream, metrics only")
	f.BoolVar(&m.perIP, "per-ip", false, "with --metrics: also per-IP series (capped by --per-ip-max)")
	f.IntVar(&m.perIPMax, "per-ip-max", metrics.DefaultPerIPMax, "with --per-ip: at most this many (device, IP) pairs get series; the rest are counted in arplab_per_ip_overflow_total")
}

// stream is out, or nil with --quiet: the watcher then builds no events.
func (m *metricsFlags) stream(out func(trace.Event)) func(trace.Event) {
	if m.quiet {
		return nil
	}
	return out
}

// check rejects flag combinations that would do nothing.
func (m *metricsFlags) check(f *pflag.FlagSet) error {
	if m.addr == "" {
		if f.Changed("metrics") {
			return usagef("--metrics \"\": want HOST:PORT (e.g. 127.0.0.1:9717)")
		}
		for _, name := range []string{"quiet", "per-ip", "per-ip-max"} {
			if f.Changed(name) {
				return usagef("--%s goes with --metrics ADDR", name)
			}
		}
		return nil
	}
	_, port, err := net.SplitHostPort(m.addr)
	if err != nil {
		return usagef("--metrics %q: want HOST:PORT (e.g. 127.0.0.1:9717): %v", m.addr, err)
	}
	if port == "" {
		return usagef("--metrics %q: no port: want HOST:PORT (e.g. 127.0.0.1:9717)", m.addr)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return usagef("--metrics %q: port %q: want a number from 0 to 65535", m.addr, port)
	}
	if m.perIPMax < 1 {
		return usagef("--per-ip-max %d: want at least 1", m.perIPMax)
	}
	if f.Changed("per-ip-max") && !m.perIP {
		return usagef("--per-ip-max goes with --per-ip")
	}
	return nil
}

// start listens on ADDR and serves the exporter; it sets opt's Observer
// and, unless --trace made the tracepoint mandatory, asks for the
// tracepoint at best effort (a service degrades, and says so in
// arplab_watch_tracepoint_available). The returned context ends when ctx
// does or the server fails; stop ends the server and returns its error.
func (m *metricsFlags) start(ctx context.Context, e *env, opt *watch.WatchOptions) (_ context.Context, stop func() error, err error) {
	ln, err := net.Listen("tcp", m.addr)
	if err != nil {
		return nil, nil, fmt.Errorf("--metrics: %v", err)
	}
	netns := opt.Netns
	exp := metrics.New(metrics.Options{PerIP: m.perIP, PerIPMax: m.perIPMax,
		Settings: func() (doctor.Report, error) { return doctor.Inspect(netns) },
		Note:     func(s string) { fmt.Fprintf(e.stderr, "arplab watch: %s\n", s) }})
	opt.Observer = exp
	if !opt.Trace {
		opt.Trace, opt.TraceBestEffort = true, true
	}
	fmt.Fprintf(e.stderr, "arplab watch: serving metrics on http://%s/metrics\n", ln.Addr())
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var serr error
	wg.Go(func() {
		serr = exp.Serve(ctx, ln)
		cancel() // a dead server stops the watch: a service manager restarts it
	})
	return ctx, func() error { cancel(); wg.Wait(); return serr }, nil
}

// watchFunc is watch.Watch; a test replaces it with one slow to stop.
var watchFunc = watch.Watch

// stopGrace is how long a stopped watch may take to clean up (its tracefs
// instance, private mount and sockets) before the command returns anyway.
const stopGrace = 5 * time.Second

// watchUntilStopped runs the watcher and, once ctx ends, waits at most
// stopGrace for it: Ctrl-C and a service manager's SIGTERM stop the
// command at once even if a cleanup step is held up in the kernel (an
// instance removal waits on tracefs locks that other tracers hold). What
// was not cleaned up is said on stderr.
func watchUntilStopped(ctx context.Context, e *env, opt watch.WatchOptions, out func(trace.Event)) error {
	done := make(chan error, 1)
	go func() { done <- watchFunc(ctx, opt, out) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	select {
	case err := <-done:
		return err
	case <-time.After(stopGrace):
		fmt.Fprintf(e.stderr, "arplab watch: stopped; its cleanup (tracefs instance, sockets) did not finish within %v and is left to the kernel\n", stopGrace)
		return nil
	}
}
