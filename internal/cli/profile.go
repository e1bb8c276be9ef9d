package cli

import (
	"fmt"
	"io"

	"arplab/internal/kernel"
)

// profileNote says on w which profile a --profile value resolved to and
// why, when it was not a profile name (a `uname -r` string, a RHEL minor,
// "latest"). The note goes to stderr so that the report stays the same
// for the same resolved profile.
func profileNote(w io.Writer, flag, value string) {
	if value == "" || value == "auto" {
		return // replay ranks the profiles itself and says so
	}
	p, why, err := kernel.Resolve(value)
	if err != nil || why == "" {
		return
	}
	fmt.Fprintf(w, "arplab: %s %s → profile %s: %s\n", flag, value, p.Name, why)
}
