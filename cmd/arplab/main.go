// Command arplab predicts, explains and verifies what Linux ARP caches do
// with gratuitous ARP. Run `arplab help` for the commands.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"arplab/internal/cli"
	"arplab/internal/vm"
)

func main() {
	if vm.IsGuest() { // PID 1 of `arplab verify --vm`'s initramfs
		vm.Guest(cli.Run)
	}
	// The first SIGINT or SIGTERM cancels the command's context with the
	// signal as its cause: the command stops, prints what it has (marked
	// partial), cleans up, and exits 128 + the signal's number. A second
	// one exits at once.
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		cause := cli.Interrupted(<-sigs)
		cancel(cause)
		<-sigs
		os.Exit(cli.ExitCodeOf(cause))
	}()
	code := cli.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	signal.Stop(sigs)
	os.Exit(code)
}
