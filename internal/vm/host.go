package vm

import (
	"bufio"
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Options say what to boot and what to run in the guest.
type Options struct {
	// Kernel is the kernel image (a bzImage such as Debian's
	// /boot/vmlinuz-6.1.0-27-amd64).
	Kernel string
	// Modules is the kernel's /lib/modules/RELEASE tree; "" derives it
	// from Kernel (see ModulesDir).
	Modules string
	// Init is the static arplab binary to run as /init; "" is this one.
	Init string
	// Args are the arguments of `arplab` in the guest ("verify", …).
	Args []string
	// Accel is "auto" (KVM when it boots, else TCG), "kvm" or "tcg".
	Accel string
	// HelloTimeout is how long a KVM guest may take to start init before
	// Run gives up on KVM (auto only).
	HelloTimeout time.Duration
	// MemoryMB is the guest's memory.
	MemoryMB int
	// Notes receives one line per thing worth saying (which accelerator,
	// which modules); nil discards them.
	Notes io.Writer
}

// Result is what the guest reported besides its output.
type Result struct {
	Release string // the guest's uname -r
	Accel   string // "kvm" or "tcg"
	Code    int    // the guest command's exit code
	Lost    int    // frames missing from the sequence
	Bad     int    // frame lines that failed their checksum
}

// ErrNoHello means the guest never started init.
var ErrNoHello = errors.New("vm: the guest did not start arplab as init")

// Run boots the kernel with an initramfs holding Init and the modules,
// runs `arplab Args…` in it, and copies the guest's stdout and stderr to
// stdout and stderr as they arrive.
func Run(ctx context.Context, o Options, stdout, stderr io.Writer) (Result, error) {
	notes := o.Notes
	if notes == nil {
		notes = io.Discard
	}
	if o.MemoryMB == 0 {
		o.MemoryMB = 1024
	}
	if o.HelloTimeout == 0 {
		o.HelloTimeout = 30 * time.Second
	}
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		return Result{}, fmt.Errorf("vm: qemu-system-x86_64 not found (apt-get install qemu-system-x86): %w", err)
	}
	img, err := os.CreateTemp("", "arplab-initramfs-*.cpio")
	if err != nil {
		return Result{}, fmt.Errorf("vm: %w", err)
	}
	defer os.Remove(img.Name())
	mods, err := WriteInitramfs(img, o)
	if cerr := img.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return Result{}, err
	}
	fmt.Fprintf(notes, "vm: initramfs with arplab as /init and modules %s\n", strings.Join(mods, ", "))
	accel := o.Accel
	switch accel {
	case "", "auto":
		if why := kvmUnusable(); why != "" {
			fmt.Fprintf(notes, "vm: TCG (software emulation): %s\n", why)
			accel = "tcg"
		} else {
			res, err := boot(ctx, o, img.Name(), "kvm", o.HelloTimeout, stdout, stderr)
			if !errors.Is(err, ErrNoHello) || ctx.Err() != nil {
				return res, err
			}
			fmt.Fprintf(notes, "vm: KVM guest did not start init within %v; falling back to TCG (software emulation)\n", o.HelloTimeout)
			accel = "tcg"
		}
	case "kvm", "tcg":
	default:
		return Result{}, fmt.Errorf("vm: accelerator %q: want auto, kvm or tcg", accel)
	}
	// TCG boots Debian's kernel to init in seconds; a generous bound
	// still catches a kernel that cannot boot at all.
	return boot(ctx, o, img.Name(), accel, 5*time.Minute, stdout, stderr)
}

// kvmUnusable says why KVM cannot be tried ("" when it can).
func kvmUnusable() string {
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err != nil {
		return "/dev/kvm: " + err.Error()
	}
	f.Close()
	return ""
}

// boot runs one QEMU and relays frames until the guest's exit frame.
func boot(ctx context.Context, o Options, initrd, accel string, hello time.Duration, stdout, stderr io.Writer) (Result, error) {
	res := Result{Accel: accel, Code: -1}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// nohz=off: the neighbour table's periodic work is a deferrable
	// timer, which an idle tickless CPU runs only when something else
	// wakes it; the lab needs it on time (docs/divergences.md L-VM).
	args := []string{"-nodefaults", "-no-reboot", "-display", "none", "-serial", "stdio", "-nic", "none",
		"-m", strconv.Itoa(o.MemoryMB), "-kernel", o.Kernel, "-initrd", initrd,
		"-append", "console=ttyS0 loglevel=1 panic=-1 nohz=off rdinit=/init"}
	if accel == "kvm" {
		args = append(args, "-accel", "kvm", "-cpu", "host", "-smp", "2")
	} else {
		// One vCPU: with two (multi-threaded TCG) Debian's 6.12 oopsed in
		// the scheduler at boot and 6.1 soft-locked mid-suite.
		args = append(args, "-accel", "tcg", "-cpu", "max", "-smp", "1")
	}
	cmd := exec.CommandContext(ctx, "qemu-system-x86_64", args...)
	var qerr bytes.Buffer
	cmd.Stderr = &qerr
	cmd.Stdin = nil
	out, err := cmd.StdoutPipe()
	if err != nil {
		return res, fmt.Errorf("vm: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return res, fmt.Errorf("vm: starting qemu: %w", err)
	}
	helloSeen := make(chan struct{})
	noHello := make(chan struct{})
	go func() {
		select {
		case <-helloSeen:
		case <-time.After(hello):
			close(noHello)
			cancel()
		case <-ctx.Done():
		}
	}()
	var tail []string // the console's last lines, for an error
	next, done := uint64(0), false
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() && !done {
		f, ok, err := ParseFrame(sc.Text())
		if !ok {
			tail = append(tail, strings.TrimRight(sc.Text(), "\r"))
			if len(tail) > 20 {
				tail = tail[1:]
			}
			continue
		}
		if err != nil {
			res.Bad++
			continue
		}
		if f.Seq > next {
			res.Lost += int(f.Seq - next)
		}
		next = f.Seq + 1
		switch f.Kind {
		case KindHello:
			res.Release = string(f.Payload)
			close(helloSeen)
			fmt.Fprintf(orDiscard(o.Notes), "vm: guest %s is up (%s)\n", res.Release, accelName(accel))
		case KindLog:
			fmt.Fprintf(orDiscard(o.Notes), "vm: guest: %s\n", f.Payload)
		case KindOut:
			stdout.Write(f.Payload)
		case KindErr:
			stderr.Write(f.Payload)
		case KindExit:
			res.Code, err = strconv.Atoi(string(f.Payload))
			if err != nil {
				res.Code = 1
			}
			done = true
		}
	}
	if done {
		// The guest powers off; do not wait long for it.
		t := time.AfterFunc(20*time.Second, cancel)
		defer t.Stop()
	}
	werr := cmd.Wait()
	timedOut := false
	select {
	case <-noHello:
		timedOut = true
	default:
	}
	switch {
	case done:
	case timedOut:
		return res, fmt.Errorf("%w within %v (%s); last console lines:\n  %s", ErrNoHello, hello, accelName(accel), strings.Join(tail, "\n  "))
	case ctx.Err() != nil:
		return res, fmt.Errorf("vm: stopped: %w", context.Cause(ctx))
	default:
		msg := strings.TrimSpace(qerr.String())
		if msg == "" {
			msg = fmt.Sprint(werr)
		}
		return res, fmt.Errorf("vm: the guest stopped without reporting an exit code (%s); last console lines:\n  %s", msg, strings.Join(tail, "\n  "))
	}
	if res.Lost > 0 || res.Bad > 0 {
		return res, fmt.Errorf("vm: %d frame(s) lost and %d corrupted on the serial console: the output above is incomplete", res.Lost, res.Bad)
	}
	return res, nil
}

func accelName(a string) string {
	if a == "kvm" {
		return "KVM"
	}
	return "TCG, software emulation"
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

// WriteInitramfs writes the guest's initramfs to w and returns the names
// of the modules it holds, in load order.
func WriteInitramfs(w io.Writer, o Options) ([]string, error) {
	initBin := o.Init
	if initBin == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("vm: finding this binary: %w", err)
		}
		initBin = exe
	}
	if err := checkStatic(initBin); err != nil {
		return nil, err
	}
	bin, err := os.ReadFile(initBin)
	if err != nil {
		return nil, fmt.Errorf("vm: %w", err)
	}
	dir := o.Modules
	if dir == "" {
		if dir, err = ModulesDir(o.Kernel); err != nil {
			return nil, err
		}
	}
	mods, builtin, err := resolveModules(dir, GuestModules)
	if err != nil {
		return nil, err
	}
	c := &cpioWriter{w: bufio.NewWriterSize(w, 1<<20)}
	for _, d := range []string{"dev", "proc", "sys", "run", "tmp", "modules"} {
		c.dir(d)
	}
	c.file("init", 0o755, bin)
	// The kernel's build configuration, where the lab reads CONFIG_HZ
	// (/boot/config-RELEASE): measuring HZ from the jiffies rate is too
	// noisy under software emulation (one run read 265).
	if rel, err := KernelRelease(o.Kernel); err == nil {
		if cfg, err := os.ReadFile(filepath.Join(filepath.Dir(o.Kernel), "config-"+rel)); err == nil {
			c.dir("boot")
			c.file("boot/config-"+rel, 0o644, cfg)
			fmt.Fprintf(orDiscard(o.Notes), "vm: %s's config-%s goes along (CONFIG_HZ)\n", rel, rel)
		}
	}
	c.file("arplab-args", 0o644, []byte(strings.Join(o.Args, "\n")))
	var names []string
	for i, m := range mods {
		c.file(fmt.Sprintf("modules/%02d-%s.ko", i, m.Name), 0o644, m.Data)
		names = append(names, m.Name)
	}
	for _, b := range builtin {
		names = append(names, b+" (built in)")
	}
	if err := c.close(); err != nil {
		return nil, fmt.Errorf("vm: writing the initramfs: %w", err)
	}
	if err := c.w.(*bufio.Writer).Flush(); err != nil {
		return nil, fmt.Errorf("vm: writing the initramfs: %w", err)
	}
	return names, nil
}

// checkStatic refuses a dynamically linked init: the initramfs has no
// libc or loader.
func checkStatic(p string) error {
	f, err := elf.Open(p)
	if err != nil {
		return fmt.Errorf("vm: %s: %w", p, err)
	}
	defer f.Close()
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			return fmt.Errorf("vm: %s is dynamically linked; the guest's /init must be static (build arplab with CGO_ENABLED=0)", p)
		}
	}
	return nil
}

// ModulesDir finds the modules of a kernel image: the lib/modules/RELEASE
// tree beside its boot/ directory (as `dpkg -x` of a linux-image package
// lays them out), RELEASE read from the image's own header.
func ModulesDir(kernel string) (string, error) {
	rel, err := KernelRelease(kernel)
	if err != nil {
		return "", err
	}
	dir := filepath.Join(filepath.Dir(filepath.Dir(kernel)), "lib", "modules", rel)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return "", fmt.Errorf("vm: no modules for %s at %s; pass --modules DIR (the kernel's /lib/modules/%s)", rel, dir, rel)
	}
	return dir, nil
}

// KernelRelease reads the release string from a bzImage's setup header
// (the "HdrS" header's kernel_version pointer, boot protocol ≥ 2.00).
func KernelRelease(kernel string) (string, error) {
	f, err := os.Open(kernel)
	if err != nil {
		return "", fmt.Errorf("vm: %w", err)
	}
	defer f.Close()
	hdr := make([]byte, 0x210)
	if _, err := io.ReadFull(f, hdr); err != nil {
		return "", fmt.Errorf("vm: %s: too short for a bzImage: %w", kernel, err)
	}
	if string(hdr[0x202:0x206]) != "HdrS" {
		return "", fmt.Errorf("vm: %s: not a bzImage (no HdrS setup header)", kernel)
	}
	off := int64(hdr[0x20e]) | int64(hdr[0x20f])<<8
	buf := make([]byte, 256)
	n, _ := f.ReadAt(buf, off+0x200)
	s := string(buf[:n])
	if i := strings.IndexAny(s, " \x00"); i > 0 {
		return s[:i], nil
	}
	return "", fmt.Errorf("vm: %s: no kernel version string in the setup header", kernel)
}
