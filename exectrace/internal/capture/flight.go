//go:build go1.25

// The scenarios that need runtime/trace.FlightRecorder (Go 1.25).
package main

import (
	"bytes"
	"fmt"
	"log"
	"os"
	"runtime/trace"
	"sync"
	"time"
)

const haveFlightRecorder = true

// flightRun: the chan scenario inside a flight recorder's window.
func flightRun(buf *bytes.Buffer) *facts {
	fr := trace.NewFlightRecorder(trace.FlightRecorderConfig{MinAge: 2 * time.Second, MaxBytes: 4 << 20})
	if err := fr.Start(); err != nil {
		log.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	f := chanWait()
	f.Notes = "from FlightRecorder.WriteTo; " + f.Notes
	if _, err := fr.WriteTo(buf); err != nil {
		log.Fatal(err)
	}
	fr.Stop()
	return f
}

// busyWindow writes a flight recorder's window of about mib MiB of a busy
// program: many goroutines passing work over channels, locking, allocating
// and sleeping. For measuring the converter; not a fixture.
func busyWindow(mib int, path string) {
	fr := trace.NewFlightRecorder(trace.FlightRecorderConfig{MinAge: time.Minute, MaxBytes: uint64(mib) << 20})
	if err := fr.Start(); err != nil {
		log.Fatal(err)
	}
	stop := make(chan struct{})
	work := make(chan []byte, 64)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				case b := <-work:
					mu.Lock()
					sink = append(sink[:0], b)
					mu.Unlock()
				case work <- make([]byte, 512+i):
				}
				if n%50 == 0 {
					time.Sleep(time.Duration(i%7) * 100 * time.Microsecond)
				}
			}
		}()
	}
	var size int64
	for size < int64(mib)<<20*9/10 {
		time.Sleep(200 * time.Millisecond)
		var buf bytes.Buffer
		fr.WriteTo(&buf)
		size = int64(buf.Len())
		if size >= int64(mib)<<20*9/10 {
			os.WriteFile(path, buf.Bytes(), 0o644)
		}
	}
	close(stop)
	wg.Wait()
	fr.Stop()
	fmt.Printf("busy: %d bytes\n", size)
}
