// capture writes the execution-trace fixtures of tests/data/exectrace/: small
// programs with known behaviour, each traced with runtime/trace, and beside
// each trace what the program knows it did (expected.json: goroutine ids,
// time.Now() pairs around each wait, span ids). The tests of exectrace/ check
// the converter's output against these facts, never against its own output.
//
//	go run ./internal/capture -out ../tests/data/exectrace/go1.26
//	GOTOOLCHAIN=go1.27.3 go run ./internal/capture -out ../tests/data/exectrace/go1.27
//	go run ./internal/capture -busy 10 -out /tmp/busy   # a ~10 MiB flight-recorder window (not committed)
//
// and a trace without clock snapshots (Go < 1.25; go1.24.0 is the toolchain
// this machine's module cache holds; -modfile because go.mod asks for Go 1.26):
//
//	printf 'module github.com/meanwhile-dev/meanwhile/exectrace\ngo 1.24\n' > /tmp/go124.mod
//	GOTOOLCHAIN=go1.24.0 GOPROXY=off go run -modfile=/tmp/go124.mod ./internal/capture -out ../tests/data/exectrace/go1.24
package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/trace"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// facts is what one scenario records of itself (expected.json's entries).
type facts struct {
	Go         string              `json:"go"`
	Goroutines map[string]uint64   `json:"goroutines"`
	Windows    map[string][2]int64 `json:"windows"` // unix ns, time.Now() before and after
	Spans      map[string]string   `json:"spans,omitempty"`
	Values     map[string]int64    `json:"values,omitempty"`
	Notes      string              `json:"notes"`
	mu         sync.Mutex
}

func newFacts(notes string) *facts {
	return &facts{Go: runtime.Version(), Goroutines: map[string]uint64{}, Windows: map[string][2]int64{},
		Spans: map[string]string{}, Values: map[string]int64{}, Notes: notes}
}

func (f *facts) g(name string) {
	f.mu.Lock()
	f.Goroutines[name] = goid()
	f.mu.Unlock()
}

func (f *facts) window(name string, from, to time.Time) {
	f.mu.Lock()
	f.Windows[name] = [2]int64{from.UnixNano(), to.UnixNano()}
	f.mu.Unlock()
}

// goid is the calling goroutine's id, as runtime.Stack's first line says.
func goid() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	n, err := strconv.ParseUint(string(b[:bytes.IndexByte(b, ' ')]), 10, 64)
	if err != nil {
		panic(err)
	}
	return n
}

var scenarios = []struct {
	name string
	run  func() *facts
}{
	{"chan", chanWait},
	{"mutex", mutexWait},
	{"sleep", sleepWait},
	{"io", ioWait},
	{"gc", gcAssist},
	{"spans", spans},
	{"flight", nil}, // flightRun: inside a flight recorder, not trace.Start
	{"preblocked", preBlocked},
	{"long", longWait},
	{"midgc", midGC},
}

// midGC: the trace starts while four allocators keep the GC busy (GOGC=5), so
// that GC cycles and mark assists are already on at the trace's start.
func midGC() *facts {
	f := newFacts("the trace starts amid GC cycles and mark assists: what was on at the start is clipped there (start_ns = the trace's start); no expectation beyond the invariants")
	old := debug.SetGCPercent(5)
	defer debug.SetGCPercent(old)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f.g(fmt.Sprintf("allocator%d", i))
			var keep [][]byte
			for {
				select {
				case <-stop:
					return
				default:
				}
				keep = append(keep, make([]byte, 8192))
				if len(keep) > 256 {
					keep = keep[:0]
				}
			}
		}()
	}
	time.Sleep(30 * time.Millisecond)
	startTrace()
	time.Sleep(10 * time.Millisecond)
	close(stop)
	wg.Wait()
	return f
}

// startTrace starts the trace: main calls it before a scenario runs, except
// for preblocked and midgc, which set up what is already on when it starts.
var startTrace func()

// preBlocked: "receiver" is blocked on a channel before the trace starts and
// is woken by "sender" 20 ms into the trace; "stuck" blocks on a channel
// inside the trace and stays blocked after it stops.
func preBlocked() *facts {
	f := newFacts("receiver: a BLOCKED interval clipped at the trace's start (its start is the trace's), reason chan (the trace gives none: from the stack), ended inside window send by a wake from sender; stuck: a BLOCKED chan interval from inside window stuck_from clipped at the trace's end; " +
		"main: span pre (its task begun before the trace: no name) on its sleep in window pre_sleep")
	ch := make(chan int)
	parked := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.g("receiver")
		close(parked)
		<-ch
	}()
	<-parked
	time.Sleep(5 * time.Millisecond) // receiver parks in <-ch
	tid, sid := spanIDs(4)
	f.Spans["pre"] = tid + "/" + sid
	ctx, task := trace.NewTask(context.Background(), "pre.op")
	startTrace()
	f.g("main")
	trace.Log(ctx, "meanwhile.span", tid+"/"+sid)
	s0 := time.Now()
	time.Sleep(5 * time.Millisecond)
	f.window("pre_sleep", s0, time.Now())
	task.End()
	forever := make(chan int)
	go func() {
		f.g("stuck")
		t0 := time.Now()
		go func() { time.Sleep(time.Millisecond); f.window("stuck_from", t0, time.Now()) }()
		<-forever
	}()
	go func() {
		f.g("sender")
		time.Sleep(20 * time.Millisecond)
		t0 := time.Now()
		ch <- 1
		f.window("send", t0, time.Now())
	}()
	<-done
	time.Sleep(5 * time.Millisecond)
	return f
}

// longWait: "receiver" blocks 1.3 s on a channel, across a generation's end
// (the runtime starts a new generation about every second), until "sender" sends.
func longWait() *facts {
	f := newFacts("receiver: one BLOCKED chan interval of 1.3 s inside window wait, across generations, ended by a wake from sender inside window send")
	ch := make(chan int)
	ready := make(chan struct{})
	done := make(chan struct{})
	go func() {
		f.g("sender")
		<-ready
		time.Sleep(1300 * time.Millisecond)
		t0 := time.Now()
		ch <- 1
		f.window("send", t0, time.Now())
	}()
	go func() {
		defer close(done)
		f.g("receiver")
		close(ready)
		t0 := time.Now()
		<-ch
		f.window("wait", t0, time.Now())
	}()
	<-done
	time.Sleep(2 * time.Millisecond)
	return f
}

func main() {
	out := flag.String("out", "", "directory to write <scenario>.trace and expected.json into")
	only := flag.String("only", "", "write only this scenario (its entry in an existing expected.json is replaced)")
	busy := flag.Int("busy", 0, "instead: write busy.trace, a flight-recorder window of about this many MiB")
	flag.Parse()
	if *out == "" {
		log.Fatal("-out is required")
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		log.Fatal(err)
	}
	if *busy > 0 {
		busyWindow(*busy, filepath.Join(*out, "busy.trace"))
		return
	}
	all := map[string]*facts{}
	if *only != "" {
		if b, err := os.ReadFile(filepath.Join(*out, "expected.json")); err == nil {
			if err := json.Unmarshal(b, &all); err != nil {
				log.Fatal(err)
			}
		}
	}
	for _, s := range scenarios {
		if *only != "" && s.name != *only {
			continue
		}
		if s.name == "flight" && !haveFlightRecorder {
			continue
		}
		var buf bytes.Buffer
		var f *facts
		if s.name == "flight" {
			f = flightRun(&buf)
		} else {
			var t0, t1 time.Time
			startTrace = func() {
				t0 = time.Now()
				if err := trace.Start(&buf); err != nil {
					log.Fatal(err)
				}
				t1 = time.Now()
			}
			if s.name != "preblocked" && s.name != "midgc" {
				startTrace()
			}
			f = s.run()
			trace.Stop()
			// where the trace began, for aligning traces without clock
			// snapshots (the converter's -capture-time)
			f.window("capture", t0, t1)
		}
		all[s.name] = f
		if err := os.WriteFile(filepath.Join(*out, s.name+".trace"), buf.Bytes(), 0o644); err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s: %d bytes\n", s.name, buf.Len())
	}
	js, err := json.MarshalIndent(all, "", "  ")
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(*out, "expected.json"), append(js, '\n'), 0o644); err != nil {
		log.Fatal(err)
	}
}

// chanWait: "receiver" blocks 40 ms on a channel receive until "sender"
// sends. Window "wait": just before the receive and just after it returned;
// window "send": around the send.
func chanWait() *facts {
	f := newFacts("receiver: one BLOCKED chan interval inside window wait, about 40 ms, ended by a wake from sender inside window send")
	ch := make(chan int)
	ready := make(chan struct{})
	done := make(chan struct{})
	go func() {
		f.g("sender")
		<-ready
		time.Sleep(40 * time.Millisecond)
		t0 := time.Now()
		ch <- 1
		f.window("send", t0, time.Now())
	}()
	go func() {
		defer close(done)
		f.g("receiver")
		close(ready)
		t0 := time.Now()
		<-ch
		f.window("wait", t0, time.Now())
	}()
	<-done
	time.Sleep(2 * time.Millisecond)
	return f
}

// mutexWait: "holder" holds a sync.Mutex 30 ms while "waiter" blocks in Lock.
func mutexWait() *facts {
	f := newFacts("waiter: one BLOCKED mutex interval inside window wait, about 30 ms, ended by a wake from holder inside window unlock")
	var mu sync.Mutex
	locked := make(chan struct{})
	done := make(chan struct{})
	go func() {
		f.g("holder")
		mu.Lock()
		close(locked)
		time.Sleep(30 * time.Millisecond)
		t0 := time.Now()
		mu.Unlock()
		f.window("unlock", t0, time.Now())
	}()
	go func() {
		defer close(done)
		f.g("waiter")
		<-locked
		t0 := time.Now()
		mu.Lock()
		f.window("wait", t0, time.Now())
		mu.Unlock()
	}()
	<-done
	time.Sleep(2 * time.Millisecond)
	return f
}

// sleepWait: "sleeper" sleeps 20 ms; then GOMAXPROCS is set to 1 and back.
func sleepWait() *facts {
	f := newFacts("sleeper: one BLOCKED sleep interval inside window wait, about 20 ms; " +
		"a GOMAXPROCS record of 1 inside window procs1, then one of the value before (values.gomaxprocs) inside window procs_back")
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.g("sleeper")
		t0 := time.Now()
		time.Sleep(20 * time.Millisecond)
		f.window("wait", t0, time.Now())
	}()
	<-done
	t0 := time.Now()
	n := runtime.GOMAXPROCS(1)
	f.window("procs1", t0, time.Now())
	time.Sleep(time.Millisecond)
	t0 = time.Now()
	runtime.GOMAXPROCS(n)
	f.window("procs_back", t0, time.Now())
	f.Values["gomaxprocs"] = int64(n)
	time.Sleep(2 * time.Millisecond)
	return f
}

// ioWait: "reader" reads an os.Pipe (the network poller: BLOCKED io) until
// "writer" writes 30 ms later; then "sysreader" reads a pipe of raw blocking
// file descriptors (a blocking read(2): SYSCALL) that "syswriter" writes 30 ms later.
func ioWait() *facts {
	f := newFacts("reader: a BLOCKED io interval inside window wait, about 30 ms; sysreader: a SYSCALL interval inside window syswait, about 30 ms")
	r, w, err := os.Pipe()
	if err != nil {
		log.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		f.g("writer")
		time.Sleep(30 * time.Millisecond)
		w.Write([]byte("x"))
	}()
	go func() {
		defer close(done)
		f.g("reader")
		var b [1]byte
		t0 := time.Now()
		r.Read(b[:])
		f.window("wait", t0, time.Now())
	}()
	<-done
	r.Close()
	w.Close()

	var fds [2]int
	if err := syscall.Pipe(fds[:]); err != nil {
		log.Fatal(err)
	}
	done = make(chan struct{})
	go func() {
		f.g("syswriter")
		time.Sleep(30 * time.Millisecond)
		syscall.Write(fds[1], []byte("x"))
	}()
	go func() {
		defer close(done)
		f.g("sysreader")
		var b [1]byte
		t0 := time.Now()
		syscall.Read(fds[0], b[:])
		f.window("syswait", t0, time.Now())
	}()
	<-done
	syscall.Close(fds[0])
	syscall.Close(fds[1])
	time.Sleep(2 * time.Millisecond)
	return f
}

var sink [][]byte

// gcAssist: allocating goroutines under GOGC=10, then a runtime.GC() call.
func gcAssist() *facts {
	f := newFacts("GC windows and STW windows; GC_ASSIST intervals on the allocators; window forced: around runtime.GC(), which holds a whole GC window and its STW windows")
	old := debug.SetGCPercent(10)
	defer debug.SetGCPercent(old)
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f.g(fmt.Sprintf("allocator%d", i))
			var keep [][]byte
			for j := range 300 {
				keep = append(keep, make([]byte, 4096))
				if len(keep) > 512 {
					keep = keep[:0]
				}
				if j%100 == 0 {
					sink = append(sink, make([]byte, 1<<16))
				}
			}
		}()
	}
	wg.Wait()
	sink = nil
	t0 := time.Now()
	runtime.GC()
	f.window("forced", t0, time.Now())
	return f
}

func spanIDs(n int) (string, string) {
	return fmt.Sprintf("4bf92f3577b34da6a3ce929d0e0e47%02x", n), fmt.Sprintf("00f067aa0ba902%02x", n)
}

// spans writes tasks and logs as client/go does (docs/EXECTRACE.md).
func spans() *facts {
	f := newFacts("worker: span outer over window outer; inside it the nested span inner (its own task) over window inner, " +
		"blocked on a channel inside window outer_wait (span outer) and sleeping in window inner_sleep (span inner); after inner ends, " +
		"window outer_after is span outer again. dd: a Datadog span (span id 0x1122334455667788) over window dd_sleep. " +
		"ended: its span ends on another goroutine (ender) while ended blocks; window ended_before is inside the span, window ended_after is not. " +
		"listener: blocked on a channel in window listen (no span), woken by notifier, which runs span notify")
	tid, sid := spanIDs(1)
	f.Spans["outer"] = tid + "/" + sid
	tid2, sid2 := spanIDs(2)
	f.Spans["inner"] = tid2 + "/" + sid2
	tid3, sid3 := spanIDs(3)
	f.Spans["ended"] = tid3 + "/" + sid3
	f.Spans["dd"] = "1122334455667788"

	ch := make(chan int)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // worker
		defer wg.Done()
		f.g("worker")
		t0 := time.Now()
		ctx, task := trace.NewTask(context.Background(), "GET /outer")
		trace.Log(ctx, "meanwhile.span", tid+"/"+sid)
		w0 := time.Now()
		<-ch
		f.window("outer_wait", w0, time.Now())
		func() {
			i0 := time.Now()
			ctx2, task2 := trace.NewTask(ctx, "db.query")
			trace.Log(ctx2, "meanwhile.span", tid2+"/"+sid2)
			s0 := time.Now()
			time.Sleep(10 * time.Millisecond)
			f.window("inner_sleep", s0, time.Now())
			task2.End()
			f.window("inner", i0, time.Now())
		}()
		a0 := time.Now()
		time.Sleep(5 * time.Millisecond)
		f.window("outer_after", a0, time.Now())
		task.End()
		f.window("outer", t0, time.Now())
	}()
	go func() {
		f.g("sender")
		time.Sleep(15 * time.Millisecond)
		ch <- 1
	}()
	go func() { // dd
		defer wg.Done()
		f.g("dd")
		ctx, task := trace.NewTask(context.Background(), "dd.op")
		trace.Log(ctx, "datadog.uint64_span_id", string(binary.LittleEndian.AppendUint64(nil, 0x1122334455667788)))
		s0 := time.Now()
		time.Sleep(10 * time.Millisecond)
		f.window("dd_sleep", s0, time.Now())
		task.End()
	}()
	wg.Wait()

	// ended: the task ends on another goroutine while "ended" waits
	ctxc := make(chan *trace.Task)
	release, ended := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(ended)
		f.g("ended")
		ctx, task := trace.NewTask(context.Background(), "async")
		trace.Log(ctx, "meanwhile.span", tid3+"/"+sid3)
		b0 := time.Now()
		time.Sleep(5 * time.Millisecond)
		f.window("ended_before", b0, time.Now())
		ctxc <- task
		<-release
		a0 := time.Now()
		time.Sleep(5 * time.Millisecond)
		f.window("ended_after", a0, time.Now())
	}()
	go func() {
		f.g("ender")
		task := <-ctxc
		task.End()
		close(release)
	}()
	<-ended

	// notify: a goroutine inside a span wakes one outside any
	tid5, sid5 := spanIDs(5)
	f.Spans["notify"] = tid5 + "/" + sid5
	ch2 := make(chan int)
	heard := make(chan struct{})
	go func() {
		defer close(heard)
		f.g("listener")
		t0 := time.Now()
		<-ch2
		f.window("listen", t0, time.Now())
	}()
	go func() {
		f.g("notifier")
		ctx, task := trace.NewTask(context.Background(), "notify")
		trace.Log(ctx, "meanwhile.span", tid5+"/"+sid5)
		time.Sleep(3 * time.Millisecond)
		ch2 <- 1
		task.End()
	}()
	<-heard
	time.Sleep(2 * time.Millisecond)
	return f
}
