package cli

import (
	"strings"
	"testing"
)

// TestWatchMetricsFlagErrors: flags that would do nothing, or an address
// that cannot be served, are usage errors named in one line, before
// anything is opened.
func TestWatchMetricsFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--quiet"}, "--quiet goes with --metrics ADDR"},
		{[]string{"--per-ip"}, "--per-ip goes with --metrics ADDR"},
		{[]string{"--metrics", "9717"}, `--metrics "9717": want HOST:PORT`},
		{[]string{"--metrics", ""}, `--metrics "": want HOST:PORT`},
		{[]string{"--metrics", "127.0.0.1:99999"}, `--metrics "127.0.0.1:99999": port "99999": want a number from 0 to 65535`},
		{[]string{"--metrics", "localhost:http"}, `--metrics "localhost:http": port "http": want a number`},
		{[]string{"--metrics", "127.0.0.1:"}, `--metrics "127.0.0.1:": no port`},
		{[]string{"--metrics", "127.0.0.1:9717", "--per-ip", "--per-ip-max", "0"}, "--per-ip-max 0: want at least 1"},
		{[]string{"--metrics", "127.0.0.1:9717", "--per-ip-max", "10"}, "--per-ip-max goes with --per-ip"},
	} {
		_, errs, code := run(t, append([]string{"watch"}, tc.args...)...)
		if code != ExitUsage || !strings.Contains(errs, tc.want) || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
			t.Errorf("watch %v: exit %d, stderr %q; want exit %d and one line with %q", tc.args, code, errs, ExitUsage, tc.want)
		}
	}
}
