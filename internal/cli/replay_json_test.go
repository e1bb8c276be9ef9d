package cli

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"arplab/internal/trace"
)

// TestAsyncJSON: the --json sink writes every event, in order, the bytes
// trace.Encoder writes, across batches; a write error is kept and the
// sink still closes.
func TestAsyncJSON(t *testing.T) {
	for _, n := range []int{0, 1, asyncBatch, 10*asyncBatch + 7} {
		var want, got bytes.Buffer
		enc := trace.NewEncoder(&want)
		j := newAsyncJSON(&got)
		for i := range n {
			ev := trace.Event{Time: float64(i), Kind: trace.KindNote, Host: "h", Attrs: map[string]string{"i": fmt.Sprint(i)}}
			if err := enc.Encode(ev); err != nil {
				t.Fatal(err)
			}
			j.Emit(ev)
		}
		j.close()
		j.close()
		if j.err != nil || !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Errorf("%d events: error %v, %d bytes written, want %d", n, j.err, got.Len(), want.Len())
		}
	}
	w := &failWriter{left: 3}
	j := newAsyncJSON(w)
	for i := range 5 * asyncBatch {
		j.Emit(trace.Event{Time: float64(i), Kind: trace.KindNote})
	}
	j.close()
	if !errors.Is(j.err, errFull) || w.writes != 4 {
		t.Errorf("error %v after %d writes, want %v after the 4th", j.err, w.writes, errFull)
	}
}

var errFull = errors.New("disk full")

// failWriter fails from its left+1-th write on.
type failWriter struct{ left, writes int }

func (w *failWriter) Write(p []byte) (int, error) {
	w.writes++
	if w.left == 0 {
		return 0, errFull
	}
	w.left--
	return len(p), nil
}
