// What holds for every conversion of a real trace: per goroutine, its state
// intervals (GC assists apart, which overlap RUNNING) follow one another
// without overlap or gap while the goroutine lives, and every reference
// (stack, span) resolves.
package main

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

func checkInvariants(t *testing.T, r *records) {
	t.Helper()
	byG := map[uint64][]dInterval{}
	for _, iv := range r.Intervals {
		if iv.Start < r.Summary.Start || iv.End > r.Summary.End {
			t.Errorf("interval %+v outside the trace [%d, %d]", iv, r.Summary.Start, r.Summary.End)
		}
		if iv.Stack != 0 && r.Stacks[iv.Stack] == nil {
			t.Errorf("interval %+v: no stack %d", iv, iv.Stack)
		}
		if iv.Span > uint32(len(r.Spans)) {
			t.Errorf("interval %+v: no span %d", iv, iv.Span)
		}
		if iv.State != int(stateGCAssist) {
			byG[iv.G] = append(byG[iv.G], iv)
		}
		if (iv.ClippedStart && iv.Start != r.Summary.Start) || (iv.ClippedEnd && iv.End != r.Summary.End) {
			t.Errorf("interval %+v clipped, but not at the trace's bounds [%d, %d]", iv, r.Summary.Start, r.Summary.End)
		}
	}
	for _, w := range r.Windows {
		if w.Start < r.Summary.Start || w.End > r.Summary.End || w.End < w.Start {
			t.Errorf("window %+v outside the trace [%d, %d]", w, r.Summary.Start, r.Summary.End)
		}
		if (w.ClippedStart && w.Start != r.Summary.Start) || (w.ClippedEnd && w.End != r.Summary.End) {
			t.Errorf("window %+v clipped, but not at the trace's bounds [%d, %d]", w, r.Summary.Start, r.Summary.End)
		}
	}
	bad := 0
	for g, ivs := range byG {
		sort.SliceStable(ivs, func(i, j int) bool { return ivs[i].Start < ivs[j].Start })
		for i := 1; i < len(ivs); i++ {
			if ivs[i].Start != ivs[i-1].End {
				bad++
				if bad < 5 {
					t.Errorf("goroutine %d: %+v does not follow %+v", g, ivs[i], ivs[i-1])
				}
			}
		}
	}
	for _, w := range r.Wakes {
		if w.WakerStack != 0 && r.Stacks[w.WakerStack] == nil {
			t.Errorf("wake %+v: no stack %d", w, w.WakerStack)
		}
	}
}

func TestInvariants(t *testing.T) {
	paths := fixtureTraces(t)
	if p := os.Getenv("MW_EXECTRACE_BENCH"); p != "" {
		paths = append(paths, p)
	}
	for _, p := range paths {
		t.Run(filepath.Base(filepath.Dir(p))+"/"+filepath.Base(p), func(t *testing.T) {
			checkInvariants(t, convertFile(t, p, options{}))
		})
	}
}

// The same trace gives the same bytes: what meanwhiled stores does not depend
// on the converter's run (e.g. on Go's map order).
func TestReproducible(t *testing.T) {
	for _, name := range []string{"go1.26/gc", "go1.27/gc", "go1.26/preblocked"} {
		in, err := os.ReadFile(filepath.Join(dataDir(), name+".trace"))
		if err != nil {
			t.Fatal(err)
		}
		var first []byte
		for i := range 5 {
			var out bytes.Buffer
			if err := convert(bytes.NewReader(in), &out, options{}); err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				first = out.Bytes()
			} else if !bytes.Equal(out.Bytes(), first) {
				t.Fatalf("%s: run %d wrote other bytes than run 1", name, i+1)
			}
		}
	}
}
