// FuzzConvert: any input converts to decodable records ending in a summary, or
// fails with a one-line traceError — never a panic. Seeded with every fixture
// trace and a few cuts of one; inputs that once failed live in
// testdata/fuzz/FuzzConvert/ and run with every go test.
package main

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

func FuzzConvert(f *testing.F) {
	for _, p := range fixtureTraces(f) {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		if len(b) > 64<<10 {
			continue // the fuzzer mutates small inputs far faster
		}
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		checkResult(t, in)
	})
}

// batch is one batch of a trace: its header (type byte, generation, M,
// timestamp), its size as written (the runtime pads the varint) and its events.
// A changed size is written anew.
type batch struct {
	hdr, size, data []byte
}

// splitBatches cuts a trace of the Go 1.22+ format into its 16-byte header and
// batches (internal/trace's batch.go: EvEventBatch or EvExperimentalBatch with
// its experiment byte, then uvarints gen, M, timestamp, size; a lone
// EvEndOfGeneration byte from Go 1.26 on).
func splitBatches(tb testing.TB, tr []byte) ([]byte, []batch) {
	const evEventBatch, evExperimentalBatch, evEndOfGeneration = 1, 49, 52 // internal/tracev2's numbers
	head, b := tr[:16], tr[16:]
	var out []batch
	for len(b) > 0 {
		start := b
		typ := b[0]
		b = b[1:]
		if typ == evEndOfGeneration {
			out = append(out, batch{hdr: start[:1]})
			continue
		}
		if typ == evExperimentalBatch {
			b = b[1:]
		} else if typ != evEventBatch {
			tb.Fatalf("batch type %d at %d", typ, len(tr)-len(start))
		}
		for range 3 { // gen, M, timestamp
			_, n := binary.Uvarint(b)
			b = b[n:]
		}
		hdr := start[:len(start)-len(b)]
		size, n := binary.Uvarint(b)
		enc := b[:n]
		b = b[n:]
		out = append(out, batch{hdr: hdr, size: enc, data: b[:size]})
		b = b[size:]
	}
	return head, out
}

func joinBatches(head []byte, bs []batch) []byte {
	out := append([]byte{}, head...)
	for _, b := range bs {
		out = append(out, b.hdr...)
		if len(b.hdr) > 1 {
			if size, _ := binary.Uvarint(b.size); size == uint64(len(b.data)) {
				out = append(out, b.size...)
			} else {
				out = binary.AppendUvarint(out, uint64(len(b.data)))
			}
			out = append(out, b.data...)
		}
	}
	return out
}

// FuzzBatch keeps a real trace's framing and fuzzes the events of one of its
// batches: the mutations reach the event decoding and ordering (and this
// program's handling of whatever event sequences they accept) instead of
// dying at the framing as most of FuzzConvert's do.
func FuzzBatch(f *testing.F) {
	var bases [][]byte
	for _, name := range []string{"go1.26/chan", "go1.27/spans", "go1.24/mutex"} {
		b, err := os.ReadFile(filepath.Join(dataDir(), name+".trace"))
		if err != nil {
			f.Fatal(err)
		}
		bases = append(bases, b)
	}
	for i, tr := range bases {
		_, bs := splitBatches(f, tr)
		for j, b := range bs {
			f.Add(uint8(i), uint16(j), b.data)
		}
	}
	f.Fuzz(func(t *testing.T, base uint8, which uint16, data []byte) {
		head, bs := splitBatches(t, bases[int(base)%len(bases)])
		b := &bs[int(which)%len(bs)]
		if len(b.hdr) == 1 {
			return // an end-of-generation marker has no events
		}
		b.data = data
		checkResult(t, joinBatches(head, bs))
	})
}

// The batch splitter must give back the trace it split, or FuzzBatch fuzzes
// something else than it says.
func TestSplitBatches(t *testing.T) {
	for _, p := range fixtureTraces(t) {
		tr, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		head, bs := splitBatches(t, tr)
		if got := joinBatches(head, bs); string(got) != string(tr) {
			t.Errorf("%s: split and joined, %d bytes differ from the %d read", p, len(got), len(tr))
		}
	}
}
