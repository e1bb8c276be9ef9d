//go:build linux

package vm

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Runner is cli.Run: the guest runs the same code as the host.
type Runner func(ctx context.Context, args []string, stdout, stderr io.Writer) int

// IsGuest reports whether this process is /init of an arplab initramfs.
func IsGuest() bool {
	if os.Getpid() != 1 {
		return false
	}
	_, err := os.Stat("/arplab-args")
	return err == nil
}

// Guest is PID 1 in the VM: it mounts what the lab needs, loads the
// modules, runs `arplab <args>` with its output framed on the serial
// console, reports the exit code and powers the VM off. It never returns.
func Guest(run Runner) {
	con := &console{w: os.Stdout}
	serr := setup()
	if serr == nil {
		if tty, err := os.OpenFile("/dev/ttyS0", os.O_WRONLY|unix.O_NOCTTY, 0); err == nil {
			con.w = tty
		}
	}
	logf := func(format string, a ...any) { con.send(KindLog, []byte(fmt.Sprintf(format, a...))) }
	var u unix.Utsname
	unix.Uname(&u)
	con.send(KindHello, []byte(unix.ByteSliceToString(u.Release[:])))
	code := 1
	if serr != nil {
		logf("%v", serr)
	} else if err := loadModules(logf); err != nil {
		logf("%v", err)
	} else {
		b, _ := os.ReadFile("/arplab-args")
		args := strings.Split(string(b), "\n")
		if len(b) == 0 {
			args = nil
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code = run(ctx, args, frameWriter{con, KindOut}, frameWriter{con, KindErr})
		stop()
	}
	con.send(KindExit, []byte(fmt.Sprint(code)))
	unix.Sync()
	unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
	select {}
}

// setup mounts /dev, /proc, /sys, tracefs and /run (idempotent: a second
// call finds them mounted).
func setup() error {
	for _, m := range []struct{ src, dst, fs string }{
		{"devtmpfs", "/dev", "devtmpfs"},
		{"proc", "/proc", "proc"},
		{"sysfs", "/sys", "sysfs"},
		{"tracefs", "/sys/kernel/tracing", "tracefs"},
		{"tmpfs", "/run", "tmpfs"},
		{"tmpfs", "/tmp", "tmpfs"},
	} {
		os.MkdirAll(m.dst, 0o755)
		if err := unix.Mount(m.src, m.dst, m.fs, 0, ""); err != nil && err != unix.EBUSY {
			return fmt.Errorf("mount %s on %s: %w", m.fs, m.dst, err)
		}
	}
	os.Setenv("PATH", "/")
	os.Setenv("TMPDIR", "/tmp")
	return nil
}

// loadModules loads /modules/NN-name.ko in order with finit_module.
func loadModules(logf func(string, ...any)) error {
	ms, _ := filepath.Glob("/modules/*.ko")
	sort.Strings(ms)
	for _, m := range ms {
		f, err := os.Open(m)
		if err != nil {
			return err
		}
		err = unix.FinitModule(int(f.Fd()), "", 0)
		f.Close()
		if err != nil && err != unix.EEXIST {
			return fmt.Errorf("loading module %s: %w", filepath.Base(m), err)
		}
		logf("loaded %s", filepath.Base(m))
	}
	return nil
}
