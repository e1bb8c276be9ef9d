//go:build !unix

package capture

import "os"

// mapFile maps nothing here: files are read as streams.
func mapFile(*os.File) ([]byte, bool) { return nil, false }

func unmapFile([]byte) error { return nil }
