//go:build !linux

package doctor

import "errors"

// Inspect needs Linux's /proc/sys and netlink; elsewhere it fails.
// Advise works on any saved Report.
func Inspect(netns string) (Report, error) {
	return Report{Netns: netns}, errors.New("doctor: inspecting ARP settings needs Linux")
}
