// Package labsys is the privileged plumbing the lab's packages share
// (labnet builds namespaces, ktrace reads tracepoints, kclock reads the
// kernel's clock): the one permission error every one of them returns, the
// state directory /run/arplab where a run keeps its lock file and private
// tracefs mounts, /proc writes, and the name checks that keep what a run
// creates safe as file and interface names.
//
// Errors caused by missing privileges match ErrNotPermitted whichever
// package returned them, so a caller tests for root once.
package labsys
