// FuzzConvert: any input converts to decodable records ending in a summary, or
// fails with a one-line traceError — never a panic. Seeded with every fixture
// trace and a few cuts of one; inputs that once failed live in
// testdata/fuzz/FuzzConvert/ and run with every go test.
package main

import (
	"os"
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
