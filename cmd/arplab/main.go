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
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
