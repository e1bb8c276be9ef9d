package cli

import (
	"fmt"
	"io"
	"strings"

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
	p, why, err := kernel.Resolve(strings.TrimPrefix(value, "profile="))
	if err != nil || why == "" {
		return
	}
	fmt.Fprintf(w, "arplab: %s %s → profile %s: %s\n", flag, value, p.Name, why)
}

// setProfileNotes is profileNote for the --set profile=VALUE flags.
func setProfileNotes(w io.Writer, sets []string) {
	for _, kv := range sets {
		if v, ok := strings.CutPrefix(kv, "profile="); ok {
			profileNote(w, "--set", "profile="+v)
		}
	}
}
