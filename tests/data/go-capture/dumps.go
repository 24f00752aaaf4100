// With -dumps DIR the program captures goroutine dumps and profiles instead of
// runtime traces: it serves net/http/pprof on a loopback port, puts goroutines
// into every state a Go service's goroutines are commonly found in, waits until
// the runtime reports each of them there, and GETs its own pprof endpoints,
// writing each answer unedited into DIR (see ../go1.26/README.md):
//
//	goroutines-debug1.txt      /debug/pprof/goroutine?debug=1
//	goroutines-debug2.txt      /debug/pprof/goroutine?debug=2
//	goroutines.pb.gz           /debug/pprof/goroutine (debug=0, gzip'd protobuf)
//	cpu.pb.gz                  /debug/pprof/profile?seconds=2, while labelled goroutines burn CPU
//	goroutineleak.pb.gz        /debug/pprof/goroutineleak (when the runtime has it)
//	goroutineleak-debug1.txt   /debug/pprof/goroutineleak?debug=1
//	goroutineleak-debug2.txt   /debug/pprof/goroutineleak?debug=2 (a full dump, after the leak GC)
//
// The states (wait reasons as Go 1.26 and 1.27 print them):
//
//	sync.Mutex.Lock      2 waiters on a mutex main holds, plus the labelled request below
//	sync.RWMutex.RLock   2 readers of a write-locked RWMutex
//	sync.RWMutex.Lock    1 writer of a read-locked RWMutex
//	sync.Cond.Wait       2 waiters that are never signalled
//	sync.WaitGroup.Wait  1 waiter of a WaitGroup that never reaches zero
//	chan receive         3 receivers on a channel nobody sends on
//	chan send            1 sender on a channel nobody receives from
//	select               2 goroutines selecting on two idle channels, plus the dispatcher
//	select (no cases)    1 goroutine in select {}
//	IO wait              the HTTP server's accept loop and connection readers, and a TCP read with no data
//	sleep                1 goroutine in time.Sleep(time.Hour)
//	syscall              1 goroutine in read(2) on a pipe nothing writes to
//
// Goroutines created by other goroutines: a dispatcher goroutine starts three
// workers ("created by main.dispatcher in goroutine N"), and the labelled
// request starts a child, which inherits its labels.
//
// Labels (runtime/pprof.Do, the names grafana/otel-profiling-go uses):
// span_id/trace_id/span_name on a request blocked on the mutex (with its
// child), on a request waiting for a reply on a channel (span_name with a
// non-ASCII character, which a Go 1.27 header escapes), on the CPU burners of
// cpu.pb.gz, and on one leaked goroutine.
//
// Leaks, for the goroutine leak profile: goroutines blocked on channels, a
// mutex and a WaitGroup that nothing else references (found by the leak GC),
// among them one with labels; and a receive on a nil channel. Everything else
// is kept reachable from the package variable keep, so it is not a leak.
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Everything the non-leaked goroutines block on, reachable from a global.
var keep []any

// The span labels, as grafana/otel-profiling-go sets them.
const (
	cartSpan   = "00f067aa0ba902b7"
	cartTrace  = "4bf92f3577b34da6a3ce929d0e0e4736"
	cafeSpan   = "53995c3f42cd8ad8"
	cafeTrace  = "5b8efff798038103d269b633813fc60c"
	cpuSpan    = "b7ad6b7169203331"
	cpuTrace   = "0af7651916cd43dd8448eb211c80319c"
	leakSpan   = "e457b5a2e4d86bd1"
	leakTrace  = "a3ce929d0e0e47364bf92f3577b34da6"
	cartName   = "GET /cart"
	cafeName   = "GET /café"
	cpuName    = "POST /checkout"
	leakName   = "GET /leak"
	cpuSeconds = 2
)

func spanLabels(span, trace, name string) pprof.LabelSet {
	return pprof.Labels("span_id", span, "trace_id", trace, "span_name", name)
}

// What the runtime must report (wait reason -> at least this many
// goroutines) before the dumps are taken: every goroutine has reached the
// place it blocks in.
var want = map[string]int{
	"sync.Mutex.Lock":         5, // 2 waiters, the labelled request and its child, 1 leaked
	"sync.RWMutex.RLock":      2,
	"sync.RWMutex.Lock":       1,
	"sync.Cond.Wait":          2,
	"sync.WaitGroup.Wait":     2,  // 1 kept, 1 leaked
	"chan receive":            11, // 3 kept, 3 workers, the café request, 4 leaked
	"chan send":               2,  // 1 kept, 1 leaked
	"select":                  4,  // 2 kept, the dispatcher, 1 leaked
	"select (no cases)":       1,
	"chan receive (nil chan)": 1,
	"IO wait":                 2, // the TCP read and the pprof server's accept loop
	"sleep":                   1,
	"syscall":                 1,
}

func captureDumps(dir string) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go http.Serve(ln, nil)
	base := "http://" + ln.Addr().String() + "/debug/pprof/"

	if err := startBlocked(); err != nil {
		return err
	}
	startLeaks()
	if err := waitForStates(want, 10*time.Second); err != nil {
		return err
	}

	for _, c := range []struct{ path, file string }{
		{"goroutine?debug=1", "goroutines-debug1.txt"},
		{"goroutine?debug=2", "goroutines-debug2.txt"},
		{"goroutine", "goroutines.pb.gz"},
	} {
		if err := fetch(base+c.path, filepath.Join(dir, c.file)); err != nil {
			return err
		}
	}

	stop := make(chan struct{})
	var burners sync.WaitGroup
	pprof.Do(context.Background(), spanLabels(cpuSpan, cpuTrace, cpuName), func(context.Context) {
		for i := 0; i < 2; i++ {
			burners.Add(1)
			go burn(stop, &burners)
		}
	})
	err = fetch(base+fmt.Sprintf("profile?seconds=%d", cpuSeconds), filepath.Join(dir, "cpu.pb.gz"))
	close(stop)
	burners.Wait()
	if err != nil {
		return err
	}

	if pprof.Lookup("goroutineleak") == nil {
		fmt.Fprintln(os.Stderr, "capture: this runtime has no goroutineleak profile: not captured")
		return nil
	}
	for _, c := range []struct{ path, file string }{
		{"goroutineleak", "goroutineleak.pb.gz"},
		{"goroutineleak?debug=1", "goroutineleak-debug1.txt"},
		{"goroutineleak?debug=2", "goroutineleak-debug2.txt"},
	} {
		if err := fetch(base+c.path, filepath.Join(dir, c.file)); err != nil {
			return err
		}
	}
	return nil
}

// startBlocked starts the goroutines that block for good on something that
// stays reachable (see the table at the top of the file).
func startBlocked() error {
	var mu sync.Mutex
	mu.Lock()
	for i := 0; i < 2; i++ {
		go lockWaiter(&mu)
	}

	var rw sync.RWMutex
	rw.Lock()
	for i := 0; i < 2; i++ {
		go reader(&rw)
	}
	var rw2 sync.RWMutex
	rw2.RLock()
	go writer(&rw2)

	var cmu sync.Mutex
	cond := sync.NewCond(&cmu)
	for i := 0; i < 2; i++ {
		go condWaiter(cond)
	}

	var wg sync.WaitGroup
	wg.Add(1)
	go groupWaiter(&wg)

	recv, send := make(chan int), make(chan int)
	for i := 0; i < 3; i++ {
		go receiver(recv)
	}
	go sender(send)
	a, b := make(chan int), make(chan int)
	for i := 0; i < 2; i++ {
		go selecter(a, b)
	}
	go selectForever()
	go sleeper()

	jobs := make(chan int)
	go dispatcher(jobs, 3)

	conn, peer, err := tcpPair()
	if err != nil {
		return err
	}
	go ioWaiter(conn)

	var p [2]int
	if err := syscall.Pipe(p[:]); err != nil {
		return err
	}
	go syscallWaiter(p[0])

	// A request of span "GET /cart" waits for the mutex, and so does the
	// child it started (labels are inherited).
	pprof.Do(context.Background(), spanLabels(cartSpan, cartTrace, cartName), func(ctx context.Context) {
		go handleCart(&mu)
	})
	// A request of span "GET /café" waits for a reply that never comes.
	reply := make(chan int)
	pprof.Do(context.Background(), spanLabels(cafeSpan, cafeTrace, cafeName), func(ctx context.Context) {
		go handleCafe(reply)
	})

	keep = append(keep, &mu, &rw, &rw2, cond, &wg, recv, send, a, b, jobs, conn, peer, p, reply)
	return nil
}

func lockWaiter(mu *sync.Mutex)      { mu.Lock() }
func reader(rw *sync.RWMutex)        { rw.RLock() }
func writer(rw *sync.RWMutex)        { rw.Lock() }
func groupWaiter(wg *sync.WaitGroup) { wg.Wait() }
func receiver(c chan int)            { <-c }
func sender(c chan int)              { c <- 1 }
func sleeper()                       { time.Sleep(time.Hour) }
func selectForever()                 { select {} }
func worker(jobs chan int)           { <-jobs }
func handleCafe(reply chan int)      { <-reply }
func ioWaiter(c net.Conn)            { c.Read(make([]byte, 1)) }
func syscallWaiter(fd int)           { syscall.Read(fd, make([]byte, 1)) }
func condWaiter(c *sync.Cond)        { c.L.Lock(); c.Wait() }
func selecter(a, b chan int) {
	select {
	case <-a:
	case <-b:
	}
}

// dispatcher starts n workers and then waits on the job queue with a timer
// that never fires, the way a dispatcher loop does.
func dispatcher(jobs chan int, n int) {
	for i := 0; i < n; i++ {
		go worker(jobs)
	}
	t := time.NewTimer(time.Hour)
	select {
	case <-jobs:
	case <-t.C:
	}
}

func handleCart(mu *sync.Mutex) {
	go cartChild(mu)
	mu.Lock()
}

func cartChild(mu *sync.Mutex) { mu.Lock() }

// startLeaks starts goroutines blocked on primitives that only they
// reference: nothing can ever wake them.
func startLeaks() {
	for i := 0; i < 3; i++ {
		go leakReceive()
	}
	go leakSend()
	go leakSelect()
	go leakMutex()
	go leakWaitGroup()
	go leakNilChan()
	pprof.Do(context.Background(), spanLabels(leakSpan, leakTrace, leakName), func(context.Context) {
		go leakReceive()
	})
}

func leakReceive() {
	c := make(chan int)
	<-c
}

func leakSend() {
	c := make(chan int)
	c <- 1
}

func leakSelect() {
	a, b := make(chan int), make(chan int)
	select {
	case <-a:
	case b <- 1:
	}
}

func leakMutex() {
	var mu sync.Mutex
	mu.Lock()
	mu.Lock()
}

func leakWaitGroup() {
	var wg sync.WaitGroup
	wg.Add(1)
	wg.Wait()
}

func leakNilChan() {
	var c chan int
	<-c
}

func burn(stop chan struct{}, wg *sync.WaitGroup) {
	defer wg.Done()
	x := uint64(1)
	for {
		select {
		case <-stop:
			sinkN.Store(x)
			return
		default:
		}
		for k := 0; k < 100000; k++ {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
		}
	}
}

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair() (net.Conn, net.Conn, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return nil, nil, err
	}
	s, err := ln.Accept()
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	return s, c, nil
}

// waitForStates polls the runtime's own traceback of every goroutine until
// each wait reason in want is reported at least as often as wanted.
func waitForStates(want map[string]int, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		got := map[string]int{}
		for _, line := range strings.Split(string(buf[:n]), "\n") {
			if !strings.HasPrefix(line, "goroutine ") {
				continue
			}
			i, j := strings.Index(line, "["), strings.Index(line, "]")
			if i < 0 || j < i {
				continue
			}
			// Go 1.26's GODEBUG=tracebacklabels=1 puts labels inside the brackets
			reason, _, _ := strings.Cut(line[i+1:j], ",")
			reason, _, _ = strings.Cut(reason, " labels:{")
			got[reason]++
		}
		missing := ""
		for r, k := range want {
			if got[r] < k {
				missing += fmt.Sprintf(" %q: %d of %d", r, got[r], k)
			}
		}
		if missing == "" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("goroutines did not reach their states:%s", missing)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func fetch(url, path string) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
