// With -synctest-dump FILE, TestSynctestDump writes the traceback of every
// goroutine (runtime.Stack, the format of debug=2) taken inside a
// testing/synctest bubble, where the runtime marks waits that only the bubble
// can end with " (durable)" and every bubbled goroutine with
// ", synctest bubble N" (see ../go1.26/README.md). capture.sh runs it.
package main

import (
	"flag"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

var synctestDump = flag.String("synctest-dump", "", "write the bubble's goroutine dump to this file")

func TestSynctestDump(t *testing.T) {
	if *synctestDump == "" {
		t.Skip("no -synctest-dump FILE")
	}
	synctest.Test(t, func(t *testing.T) {
		c, a, b := make(chan int), make(chan int), make(chan int)
		var mu, lock sync.Mutex
		cond := sync.NewCond(&mu)
		var wg sync.WaitGroup
		wg.Add(1)
		lock.Lock()
		go func() { time.Sleep(time.Hour) }()
		go func() { <-c }()
		go func() {
			select {
			case <-a:
			case <-b:
			}
		}()
		go func() {
			mu.Lock()
			cond.Wait()
			mu.Unlock()
		}()
		go func() { wg.Wait() }()
		go func() {
			lock.Lock()
			lock.Unlock()
		}()

		// A mutex wait is not durable: the bubble's clock would not move, so
		// wait by yielding, not by sleeping, until all six are parked.
		buf := make([]byte, 1<<20)
		var n int
		for i := 0; ; i++ {
			n = runtime.Stack(buf, true)
			s := string(buf[:n])
			if strings.Contains(s, "[sleep (durable)") && strings.Contains(s, "[chan receive (durable)") &&
				strings.Contains(s, "[select (durable)") && strings.Contains(s, "[sync.Cond.Wait (durable)") &&
				strings.Contains(s, "[sync.WaitGroup.Wait (durable)") && strings.Contains(s, "[sync.Mutex.Lock") {
				break
			}
			if i == 1e6 {
				t.Fatalf("the bubble's goroutines did not park:\n%s", s)
			}
			runtime.Gosched()
		}
		if err := os.WriteFile(*synctestDump, buf[:n], 0o644); err != nil {
			t.Fatal(err)
		}

		close(c)
		close(a)
		mu.Lock()
		cond.Signal()
		mu.Unlock()
		wg.Done()
		lock.Unlock()
		time.Sleep(2 * time.Hour) // the bubble's clock moves: the sleeper ends first
	})
}
