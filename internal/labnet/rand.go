package labnet

import (
	"crypto/rand"
	"encoding/hex"
)

// newRunID returns 6 random hex digits.
func newRunID() string {
	var b [3]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
