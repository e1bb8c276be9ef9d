// Package vm runs the verify suite on another kernel: it boots a kernel
// image under QEMU with an initramfs it writes itself (newc cpio: this
// static arplab binary as /init and the kernel's own modules for veth and
// bridge, decompressed, with their dependencies), and the guest streams
// what `arplab verify` prints back over the serial console in frames the
// host checks and prints unchanged.
//
// Why a VM and not a container: the model is held against a kernel, and a
// container shares the host's. Why the serial console: every x86 kernel
// has the 8250 driver built in, while virtio-console is a module in some
// (Debian's 6.1), and the guest needs no network to the host.
//
// The host side (Run) picks KVM when /dev/kvm works and falls back to
// software emulation (TCG) when it does not, or when a KVM guest does not
// say hello in time (on some hosts a KVM guest hangs at boot); it says
// which it used. The guest side (Guest) is what /init runs as PID 1.
package vm
