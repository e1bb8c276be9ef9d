package verify

import (
	"os"
	"testing"
)

// TestMain runs the suite at raised priority where it may (see
// boostPriority).
func TestMain(m *testing.M) {
	boostPriority()
	os.Exit(m.Run())
}
