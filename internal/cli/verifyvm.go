package cli

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"arplab/internal/vm"
)

const verifyVMHelp = `
With --vm VMLINUZ the suite runs on that kernel instead of the running
one: arplab boots it under QEMU (KVM when it works, else software
emulation, and says which) with an initramfs it writes itself (this
static binary as /init, plus the kernel's own veth and bridge modules and
their dependencies, from --modules or from lib/modules/RELEASE beside the
image's boot/ directory, as dpkg -x lays out a linux-image package), runs
the same verify there, and prints what the guest printed. The model's
profile is resolved from the guest's release. Needs qemu-system-x86_64
and a statically linked arplab (CGO_ENABLED=0).

  apt-get download linux-image-6.1.0-27-amd64-unsigned
  dpkg -x linux-image-6.1.0-27-amd64-unsigned_*.deb k
  arplab verify --vm k/boot/vmlinuz-6.1.0-27-amd64`

func addVMFlags(c *cobra.Command, kernel, modules, accel *string) {
	c.Long += verifyVMHelp
	c.Flags().StringVar(kernel, "vm", "", "boot this kernel image under QEMU and run the suite there")
	c.Flags().StringVar(modules, "modules", "", "with --vm: the kernel's /lib/modules/RELEASE directory (default: beside the image)")
	c.Flags().StringVar(accel, "accel", "auto", "with --vm: auto (KVM if the guest boots, else TCG), kvm or tcg")
}

// verifyInVM runs `arplab verify` with the same flags inside a guest.
func verifyInVM(e *env, o vm.Options, html string) error {
	if html != "" {
		return usagef("--html is not available with --vm (the trace stays in the guest); use --json")
	}
	if _, err := os.Stat(o.Kernel); err != nil {
		return usagef("--vm %s: %v", o.Kernel, err)
	}
	for _, a := range o.Args[1:] {
		if strings.HasSuffix(a, ".yaml") {
			return usagef("%s: with --vm only suite and built-in scenarios can be named (the guest has no files)", a)
		}
	}
	o.Notes = e.stderr
	res, err := vm.Run(e.ctx, o, e.stdout, e.stderr)
	if err != nil {
		return err
	}
	switch res.Code {
	case ExitOK:
		return nil
	case ExitExpected:
		return expectError{fmt.Errorf("on %s (in the VM): the kernel and the model disagree", res.Release)}
	default:
		return fmt.Errorf("verify in the VM (%s) exited %d", res.Release, res.Code)
	}
}
