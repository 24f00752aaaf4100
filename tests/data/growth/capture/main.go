// Command capture writes the heap-growth fixtures of tests/data/growth: two
// heap profiles of this process (base.pb.gz, target.pb.gz) taken before and
// after it grows a cache at a known stack, and expected.json, which says what
// it allocated between them — from the program's own counts, not from any
// profile reader. Between the two captures main.growCache retains Objects
// objects of ObjectSize bytes, and main.warmup's ShrinkObjects objects of
// ShrinkObjectSize bytes (and their slice of headers), live at the base,
// are let go. Run it with the Go the fixtures are for (go run . in this
// directory) and commit what it writes.
package main

import (
	"encoding/json"
	"os"
	"runtime"
	"runtime/pprof"
	"time"
	"unsafe"
)

const (
	memProfileRate   = 4096 // bytes between samples, on average
	objects          = 20000
	objectSize       = 1024 // a size class of its own: no rounding
	shrinkObjects    = 5000
	shrinkObjectSize = 2048
)

var (
	cache [][]byte
	warm  [][]byte
)

//go:noinline
func growCache(n, size int) {
	for i := 0; i < n; i++ {
		cache[i] = make([]byte, size)
	}
}

//go:noinline
func warmup(n, size int) [][]byte {
	w := make([][]byte, n)
	for i := range w {
		w[i] = make([]byte, size)
	}
	return w
}

// capture writes the heap profile as of a fresh GC and returns its time.
func capture(path string) int64 {
	runtime.GC()
	f, err := os.Create(path)
	if err != nil {
		panic(err)
	}
	defer f.Close()
	at := time.Now().UnixNano()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		panic(err)
	}
	return at
}

func main() {
	runtime.MemProfileRate = memProfileRate
	dir := ".."
	if len(os.Args) > 1 {
		dir = os.Args[1]
	}
	cache = make([][]byte, objects)
	warm = warmup(shrinkObjects, shrinkObjectSize)
	base := capture(dir + "/base.pb.gz")
	time.Sleep(2 * time.Second)
	growCache(objects, objectSize)
	warm = nil
	target := capture(dir + "/target.pb.gz")
	out, _ := json.MarshalIndent(map[string]any{
		"go_version":         runtime.Version(),
		"mem_profile_rate":   memProfileRate,
		"function":           "main.growCache",
		"objects":            objects,
		"object_size":        objectSize,
		"shrink_function":    "main.warmup",
		"shrink_objects":     shrinkObjects,
		"shrink_object_size": shrinkObjectSize,
		// warmup's slice of headers is let go too
		"shrink_extra_bytes": shrinkObjects * int(unsafe.Sizeof([]byte(nil))),
		"base_time_ns":       base,
		"target_time_ns":     target,
	}, "", "  ")
	if err := os.WriteFile(dir+"/expected.json", append(out, '\n'), 0o644); err != nil {
		panic(err)
	}
	runtime.KeepAlive(cache)
}
