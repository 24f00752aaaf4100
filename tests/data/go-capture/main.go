// A small program whose stderr, run with GODEBUG=gctrace=1,schedtrace=1000,
// becomes the runtime-trace captures in ../go1.26 and ../go1.27 (see their
// README.md). For -seconds it keeps the garbage collector busy (allocating
// goroutines, a live heap that grows and shrinks; at the end one runtime.GC
// call: a "(forced)" line) and the scheduler busy (more CPU-bound goroutines than Ps,
// so that the per-P run queues are not all empty). With -dumps DIR it captures
// goroutine dumps and profiles instead (dumps.go). Standard library only.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Keep the results alive, so that the compiler drops neither loop.
var sinkN atomic.Uint64
var sinkB atomic.Pointer[[]byte]

func main() {
	seconds := flag.Int("seconds", 5, "how long to run")
	dumps := flag.String("dumps", "", "capture goroutine dumps and profiles into this directory instead (dumps.go)")
	flag.Parse()
	if *dumps != "" {
		if err := captureDumps(*dumps); err != nil {
			fmt.Fprintln(os.Stderr, "capture:", err)
			os.Exit(1)
		}
		return
	}
	deadline := time.Now().Add(time.Duration(*seconds) * time.Second)
	var wg sync.WaitGroup

	// CPU-bound goroutines, more than GOMAXPROCS: they queue up on the Ps.
	for i := 0; i < 4*runtime.GOMAXPROCS(0); i++ {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			x := seed
			for time.Now().Before(deadline) {
				for k := 0; k < 100000; k++ {
					x ^= x << 13
					x ^= x >> 7
					x ^= x << 17
				}
			}
			sinkN.Store(x)
		}(uint64(i) + 1)
	}

	// Allocators: short-lived garbage, and a live set that grows to ~32 MiB and is dropped.
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var live [][]byte
			for time.Now().Before(deadline) {
				b := make([]byte, 64<<10)
				b[0] = 1
				live = append(live, b)
				if len(live) == 256 {
					live = nil
				}
				sinkB.Store(&b)
			}
		}()
	}

	wg.Wait()
	runtime.GC() // nothing allocates any more: this cycle is ours, "(forced)"
	// GC returns before the runtime has printed the whole gc line: our own
	// line would land inside it (as real output often does; the tests keep
	// such cases synthetic, these captures clean).
	time.Sleep(200 * time.Millisecond)
	fmt.Fprintln(os.Stderr, "capture: done")
}
