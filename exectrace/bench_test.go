// BenchmarkConvert: the converter on a large trace, when one is given
// (MW_EXECTRACE_BENCH=path; internal/capture -busy writes one).
package main

import (
	"bytes"
	"io"
	"os"
	"testing"
)

func BenchmarkConvert(b *testing.B) {
	path := os.Getenv("MW_EXECTRACE_BENCH")
	if path == "" {
		b.Skip("MW_EXECTRACE_BENCH names no trace (go run ./internal/capture -busy 10 -out DIR writes one)")
	}
	in, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if err := convert(bytes.NewReader(in), io.Discard, options{}); err != nil {
			b.Fatal(err)
		}
	}
}
