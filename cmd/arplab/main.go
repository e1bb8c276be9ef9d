// Command arplab predicts, explains and verifies what Linux ARP caches do
// with gratuitous ARP. Run `arplab help` for the commands.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"arplab/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
