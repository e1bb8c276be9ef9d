package replay

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"unsafe"

	"arplab/internal/capture"
	"arplab/internal/kernel"
	"arplab/internal/wire/ether"
)

// RankFrames is how much of a capture RankProfiles replays per profile:
// the host's probing in its first frames tells the kernels apart, and a
// day-long capture is not replayed a dozen times over.
const RankFrames = 200_000

// ProfileFit is how well one kernel profile predicts what the host itself
// sent in a capture: its probes and solicitations, and their timing.
type ProfileFit struct {
	Profile    string `json:"profile"`
	HZ         int    `json:"hz"`
	Observed   int    `json:"observed"`   // probes the host sent
	Matched    int    `json:"matched"`    // of those, predicted by the model in time
	Missing    int    `json:"missing"`    // predicted, not sent
	Unexpected int    `json:"unexpected"` // sent, not predicted
	Aligned    int    `json:"aligned"`    // timers the host's probes pulled earlier
	// Off is how far off the profile's timing was: the time its timers
	// had to be pulled earlier, plus the mean distance of matched probes
	// (seconds). Among equal scores the smaller wins.
	Off float64 `json:"off"`
}

// Score orders fits: the share of the host's probes predicted, less the
// predictions it did not send, per probe observed.
func (f ProfileFit) Score() float64 {
	return float64(f.Matched-f.Missing) / float64(max(f.Observed, 1))
}

// Evidence reports whether the capture tells this profile apart at all:
// the host probed on its own, or the model predicted probes it did not
// send.
func (f ProfileFit) Evidence() bool { return f.Observed > 0 || f.Missing > 0 }

// Best is the profile to use from a ranking: the first, when the capture
// tells the profiles apart at all (some profile has evidence, and the best
// scores or times better than the worst), with the profiles that fit
// exactly as well. ok is false when nothing tells them apart.
func Best(fits []ProfileFit) (best ProfileFit, ties []string, ok bool) {
	if len(fits) == 0 || !slices.ContainsFunc(fits, ProfileFit.Evidence) {
		return ProfileFit{}, nil, false
	}
	best, worst := fits[0], fits[len(fits)-1]
	if best.Score() == worst.Score() && best.Off >= worst.Off {
		return ProfileFit{}, nil, false
	}
	for _, f := range fits[1:] {
		if f.Score() == best.Score() && f.Off == best.Off {
			ties = append(ties, f.Profile)
		}
	}
	return best, ties, true
}

func (f ProfileFit) String() string {
	return fmt.Sprintf("%s: %d of %d probes predicted, %d predicted but not sent, timing off by %.3f s", f.Profile, f.Matched, f.Observed, f.Missing, f.Off)
}

// RankProfiles replays (the first RankFrames frames of) a capture under every kernel profile (with opt's
// host, sysctls and entries, and each profile's own HZ unless opt sets
// one) and ranks the profiles by how well they predict the host's own
// probes, best first; ties keep the newer profile first. open returns the
// capture anew for each replay. With no probe from the host in the
// capture there is no evidence, and every fit scores 0.
//
// Profiles that behave alike (the same features, HZ and queue limit) give
// the same replay, so each such group is replayed once; the groups are
// replayed on every core (one at a time when opt.OnRead is set, since the
// caller's callback need not be safe for concurrent use).
func RankProfiles(open func() (io.Reader, error), name string, opt Options) ([]ProfileFit, error) {
	names := kernel.Names()
	type job struct {
		prof kernel.Profile
		sum  Summary
		err  error
	}
	var jobs []*job
	byKey := map[rankKey]*job{}
	spec, err := parseHost(opt.Host)
	if err != nil {
		return nil, err
	}
	of := make([]*job, len(names))
	for i, n := range names {
		prof, err := kernel.Lookup(n)
		if err != nil {
			return nil, err
		}
		k := rankKey{prof.Features(), prof.HZ, prof.UnresQlenBytes}
		if opt.HZ != 0 {
			k.hz = opt.HZ
		}
		if spec.ip.Is4() {
			k.f = ipv4Features(k.f)
		}
		if byKey[k] == nil {
			byKey[k] = &job{prof: prof}
			jobs = append(jobs, byKey[k])
		}
		of[i] = byKey[k]
	}
	workers := min(runtime.GOMAXPROCS(0), len(jobs))
	later := 0 // workers that start when opt.RankWake closes
	if opt.RankWorkers > 0 && opt.RankWorkers < workers {
		workers, later = opt.RankWorkers, workers-opt.RankWorkers
		if opt.RankWake == nil {
			later = 0
		}
	}
	if opt.OnRead != nil {
		workers, later = 1, 0
	}
	// A capture file is mapped once and every group reads it in place,
	// the host identified once for all; anything else is opened anew for
	// each group.
	replayGroup := func(o Options) (Summary, error) {
		rd, err := open()
		if err != nil {
			return Summary{}, err
		}
		if c, ok := rd.(io.Closer); ok {
			defer c.Close()
		}
		return ReplayReader(rd, name, o, nil)
	}
	if shared, done, err := mapCapture(open, name, spec); err != nil {
		return nil, err
	} else if shared != nil {
		defer done()
		replayGroup = shared
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	allTaken := make(chan struct{}) // closed by the worker taking the last group
	for w := range workers + later {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if w >= workers {
				select {
				case <-opt.RankWake:
				case <-allTaken:
					return
				}
			}
			for {
				i := int(next.Add(1)) - 1
				if i == len(jobs)-1 {
					close(allTaken)
				}
				if i >= len(jobs) {
					return
				}
				j := jobs[i]
				o := opt
				o.Profile, o.Quiet, o.MaxFrames, o.noStale, o.noPending = j.prof, true, RankFrames, true, true
				j.sum, j.err = replayGroup(o)
			}
		}()
	}
	wg.Wait()
	fits := make([]ProfileFit, 0, len(names))
	for i, n := range names {
		sum, err := of[i].sum, of[i].err
		if err != nil {
			return nil, err
		}
		// A broadcast request for a target without an entry makes the
		// model resolve it then (an inferred output), so it matches by
		// construction and says nothing about the kernel.
		fits = append(fits, ProfileFit{Profile: n, HZ: sum.HZ, Observed: sum.ObservedProbes - sum.InferredOutputs,
			Matched: sum.MatchedProbes - sum.InferredOutputs,
			Missing: sum.MissingProbes, Unexpected: sum.UnexpectedProbes, Aligned: sum.AlignedTimers,
			Off: sum.AlignedSeconds + sum.ProbeOffset})
	}
	// Among equals the latest profile comes first, then the others newest
	// first (kernel.Names lists mainline oldest first).
	latest, _ := kernel.Lookup("latest")
	slices.Reverse(fits)
	slices.SortStableFunc(fits, func(a, b ProfileFit) int {
		if c := cmp.Compare(b.Score(), a.Score()); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Off, b.Off); c != 0 && a.Observed > 0 {
			return c
		}
		switch {
		case a.Profile == latest.Name && b.Profile != latest.Name:
			return -1
		case b.Profile == latest.Name && a.Profile != latest.Name:
			return 1
		}
		return 0
	})
	return fits, nil
}

// rankKey is what a replay's outcome depends on in a profile (neigh's
// table reads its features, HZ and unres_qlen_bytes default; the name only
// appears in words, which ranking does not build).
type rankKey struct {
	f        kernel.Features
	hz, qlen int
}

// ipv4Features is f without the features only nd_tbl and the IPv6 output
// path read (ndisc §4, §6.1, §7; their sysctls are not applied to an IPv4
// host's arp_tbl): an IPv4 host's replay is the same whatever they are, so
// profiles differing only in them are replayed once (TestRankIPv4Features).
func ipv4Features(f kernel.Features) kernel.Features {
	f.NDDropFragments, f.IPv6SharedRoutes, f.NDDropUnicastInL2Mcast, f.DropUnsolicitedNA = false, false, false, false
	f.NDEvictNoCarrierCtl, f.AcceptUntrackedNA, f.AcceptUntrackedNASubnet, f.RARetransSmallFloor = false, false, false, false
	return f
}

// mapCapture maps the capture open returns, when it is a file that can be
// read in place, identifies the host in it once, and returns a replay of
// it under given options that any number of goroutines may run at once;
// done unmaps it. replay is nil when the capture is not such a file; err
// is open's.
func mapCapture(open func() (io.Reader, error), name string, spec hostSpec) (replay func(Options) (Summary, error), done func(), err error) {
	rd, err := open()
	if err != nil {
		return nil, nil, err
	}
	f, ok := rd.(*os.File)
	if !ok {
		if c, ok := rd.(io.Closer); ok {
			c.Close()
		}
		return nil, nil, nil
	}
	defer f.Close()
	data, unmap, ok := capture.MapFile(f)
	if !ok {
		return nil, nil, nil
	}
	// A capture that does not open or show the host is left to the
	// per-group replays, which say so as a single replay does.
	var h host
	if ferr := readMapped(data, name, func() {
		var cr *capture.Reader
		if cr, err = capture.NewReaderBytes(data, name); err == nil {
			h, err = identify(cr, name, spec)
		}
	}); ferr != nil {
		unmap()
		return nil, nil, ferr
	}
	if err != nil {
		unmap()
		return nil, nil, nil
	}
	// Every group replays the same first frames: they are decoded once
	// (payloads stay in the mapped file) and handed to each in turn.
	var dec *decoded
	if err := readMapped(data, name, func() { dec, ok = decodeFrames(data, name, RankFrames) }); err != nil {
		unmap()
		return nil, nil, err
	}
	if !ok {
		unmap()
		return nil, nil, nil
	}
	replay = func(o Options) (sum Summary, err error) {
		r, err := newReplayer(o, name, nil)
		if err != nil {
			return Summary{}, err
		}
		if ferr := readMapped(data, name, func() { sum, err = r.run(&decodedReader{d: dec}, h) }); ferr != nil {
			return sum, ferr
		}
		return sum, err
	}
	return replay, func() { unmap() }, nil
}

// readMapped runs read, which reads the mapped capture data, and turns a
// fault on data (the file was cut short under the mapping, as when a
// capture is rotated while it is read) into an error rather than a crash.
func readMapped(data []byte, name string, read func()) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		e := recover()
		if e == nil {
			return
		}
		if f, ok := e.(interface{ Addr() uintptr }); ok && len(data) > 0 {
			lo := uintptr(unsafe.Pointer(unsafe.SliceData(data)))
			if a := f.Addr(); a >= lo && a < lo+uintptr(len(data)) {
				err = fmt.Errorf("replay: %s: the capture file changed while it was read (%v)", name, e)
				return
			}
		}
		panic(e)
	}()
	read()
	return nil
}

// decoded is the first frames of a capture held in memory, decoded once,
// and the reader's state after them (what a replay stopping there reads).
type decoded struct {
	frames       []capture.Frame // payloads alias the capture's bytes
	err          error           // Next's error after the last frame; nil at the limit
	skipped      map[string]int
	offset       int64
	end          int64
	hasEnd       bool
	format, link string // as the reader said before the first frame
}

// minRecord is the shortest record that yields a frame (a pcap record
// header and an Ethernet header): how many frames data can hold at most.
const minRecord = 16 + ether.HeaderLen

// decodeFrames decodes up to limit frames of the capture data.
func decodeFrames(data []byte, name string, limit int) (*decoded, bool) {
	cr, err := capture.NewReaderBytes(data, name)
	if err != nil {
		return nil, false
	}
	d := &decoded{format: cr.Format(), link: cr.LinkType(), frames: make([]capture.Frame, 0, min(limit, len(data)/minRecord+1))}
	for len(d.frames) < limit {
		f, err := cr.Next()
		if err != nil {
			d.err = err
			break
		}
		d.frames = append(d.frames, *f)
	}
	d.skipped, d.offset = cr.Skipped(), cr.Offset()
	d.end, d.hasEnd = cr.EndTime()
	return d, true
}

// decodedReader reads decoded frames as a capture.Reader reads the file;
// many may read one decoded at once (the replay does not change a frame).
type decodedReader struct {
	d *decoded
	i int
}

func (r *decodedReader) Next() (*capture.Frame, error) {
	if r.i < len(r.d.frames) {
		r.i++
		return &r.d.frames[r.i-1], nil
	}
	if r.d.err == nil {
		// decoded up to the limit: a replay stops there (Options.MaxFrames)
		return nil, errors.New("replay: read past the decoded frames")
	}
	return nil, r.d.err
}

func (r *decodedReader) Offset() int64           { return r.d.offset }
func (r *decodedReader) Skipped() map[string]int { return maps.Clone(r.d.skipped) }
func (r *decodedReader) EndTime() (int64, bool)  { return r.d.end, r.d.hasEnd }
func (r *decodedReader) Format() string          { return r.d.format }
func (r *decodedReader) LinkType() string        { return r.d.link }
