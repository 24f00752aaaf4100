// The agent tests' Go service: net/http/pprof, a heap that can be inflated on
// demand, idle goroutines, a request endpoint that does a little work inside
// pprof labels, and output on stdout and stderr that the tests compare byte for
// byte with copies the service keeps itself. Standard library only.
//
//	GET /work          ~0.2 ms of CPU and some garbage, inside pprof.Do(labels)
//	GET /grow?mb=N     keeps N more MiB live (in 1 MiB pointer-free blocks)
//	GET /spawn?n=N     starts N more goroutines that wait forever
//	GET /leak?n=N      leaks N goroutines: each waits on a channel only it references (what
//	                   the goroutine leak profile finds, when the runtime has one)
//	GET /gc            runtime.GC(): a gctrace line with the live heap as it is
//	GET /say?n=N       writes N lines to stdout and stderr (varied lengths and bytes)
//	GET /stats         {"requests","probe_max_ns","probe_p999_ns","goroutines","heap_live","cpu_ns"}
//	GET /stats/reset   zeroes the probe's figures
//	GET /quit?code=C   writes a last line without newline to stdout and stderr, exits C
//	/debug/pprof/...   net/http/pprof
//
// Flags: -listen (default 127.0.0.1:0; the address is printed on stdout as
// "listening addr=HOST:PORT"), -goroutines N (idle goroutines at start),
// -side-stdout FILE and -side-stderr FILE (every byte written to stdout, and
// every byte that reaches fd 2 — the runtime's gctrace included, through a pipe
// the service reads itself — is copied there too), -chatty D (a line on stdout
// and on stderr every D), -probe (a goroutine that measures how late a 1 ms
// sleep wakes up: the pauses the service sees), -churn MB (garbage allocated
// per second, so that GC cycles keep coming), -start-mb N (keeps N MiB live
// before it listens, as a service loading a cache at start: its heap grows
// from nothing), -listen-after D (starts listening only after D, as a service
// that takes its time to start). SIGTERM and SIGINT: a last partial line on
// both outputs, then exit status 3.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

var (
	stdout io.Writer  = os.Stdout
	outMu  sync.Mutex // one writer at a time on each output: lines stay whole
	errMu  sync.Mutex

	teeDone  chan struct{}
	errFile  *os.File // what writes to fd 2 go through
	requests int64

	ballastMu sync.Mutex
	ballast   [][]byte
	block     = make(chan struct{})
)

func say(w io.Writer, mu *sync.Mutex, s string) {
	mu.Lock()
	defer mu.Unlock()
	io.WriteString(w, s)
}

// teeStderr points fd 2 at a pipe and copies what comes out of it to the
// original stderr and to path, so that the copy holds exactly what the agent
// received, the runtime's own lines included.
func teeStderr(path string) {
	side, err := os.Create(path)
	if err != nil {
		log.Fatal(err)
	}
	orig, err := syscall.Dup(2)
	if err != nil {
		log.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		log.Fatal(err)
	}
	if err := syscall.Dup3(int(w.Fd()), 2, 0); err != nil {
		log.Fatal(err)
	}
	w.Close()
	errFile = os.NewFile(2, "stderr")
	origFile := os.NewFile(uintptr(orig), "orig-stderr")
	teeDone = make(chan struct{})
	go func() {
		buf := make([]byte, 32<<10)
		for {
			n, err := r.Read(buf)
			if n > 0 {
				origFile.Write(buf[:n])
				side.Write(buf[:n])
			}
			if err != nil {
				break
			}
		}
		side.Close()
		close(teeDone)
	}()
}

// finish writes the last partial lines and exits with code. It keeps both
// output locks until the exit, so that nothing (a -chatty tick) can land after
// the last partial line.
func finish(code int) {
	outMu.Lock()
	io.WriteString(stdout, "bye from stdout, no newline")
	errMu.Lock()
	io.WriteString(errFile, "bye from stderr, no newline")
	if teeDone != nil {
		errFile.Close() // fd 2: the tee sees EOF once the runtime holds no other copy
		select {
		case <-teeDone:
		case <-time.After(2 * time.Second):
		}
	}
	if f, ok := stdout.(interface{ Close() error }); ok && stdout != io.Writer(os.Stdout) {
		f.Close()
	}
	os.Exit(code)
}

// lines returns n lines of varied lengths and bytes (UTF-8, tabs, a long one).
func lines(prefix string, n int) string {
	var b []byte
	for i := 0; i < n; i++ {
		b = append(b, fmt.Sprintf("%s %d\t%s", prefix, i, "ünïcödé ✓")...)
		if i%7 == 3 {
			for j := 0; j < 3000; j++ {
				b = append(b, byte('a'+j%26))
			}
		}
		b = append(b, '\n')
	}
	return string(b)
}

type multi struct{ a, b io.Writer }

func (m multi) Write(p []byte) (int, error) {
	m.b.Write(p)
	return m.a.Write(p)
}

// grow keeps mb more MiB live (in 1 MiB blocks, each page touched) and returns
// the MiB kept in all.
func grow(mb int) int {
	ballastMu.Lock()
	defer ballastMu.Unlock()
	for i := 0; i < mb; i++ {
		b := make([]byte, 1<<20)
		for j := 0; j < len(b); j += 4096 {
			b[j] = 1
		}
		ballast = append(ballast, b)
	}
	return len(ballast)
}

// --- the probe: how late does a 1 ms sleep wake up? -----------------------------------------

var (
	probeMu   sync.Mutex
	probeLate []int64
	probeMax  int64
)

func probe() {
	for {
		t0 := time.Now()
		time.Sleep(time.Millisecond)
		late := int64(time.Since(t0) - time.Millisecond)
		probeMu.Lock()
		if len(probeLate) < 1<<20 {
			probeLate = append(probeLate, late)
		}
		if late > probeMax {
			probeMax = late
		}
		probeMu.Unlock()
	}
}

func probeStats() (max, p999 int64) {
	probeMu.Lock()
	defer probeMu.Unlock()
	if len(probeLate) == 0 {
		return 0, 0
	}
	s := append([]int64(nil), probeLate...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return probeMax, s[(len(s)*999)/1000]
}

// leak blocks for good on a channel nothing else can reach.
func leak() {
	c := make(chan int)
	<-c
}

// --- work ------------------------------------------------------------------------------------

var (
	sink      atomic.Uint64
	churnSink []byte
)

//go:noinline
func compute(n int) uint64 {
	x := uint64(1)
	for i := 0; i < n; i++ {
		x = x*6364136223846793005 + 1442695040888963407
	}
	return x
}

func work(w http.ResponseWriter, r *http.Request) {
	atomic.AddInt64(&requests, 1)
	pprof.Do(r.Context(), pprof.Labels("span_name", "work"), func(context.Context) {
		out := compute(200000)
		garbage := make([][]byte, 16)
		for i := range garbage {
			garbage[i] = make([]byte, 1024)
		}
		sink.Add(out + uint64(len(garbage)))
	})
	w.Write([]byte("ok\n"))
}

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address")
	goroutines := flag.Int("goroutines", 0, "idle goroutines at start")
	sideOut := flag.String("side-stdout", "", "copy of stdout")
	sideErr := flag.String("side-stderr", "", "copy of everything that reaches fd 2")
	chatty := flag.Duration("chatty", 0, "a line on each output this often")
	doProbe := flag.Bool("probe", false, "measure wake-up lateness")
	churn := flag.Int("churn", 0, "MiB of garbage per second")
	startMB := flag.Int("start-mb", 0, "MiB kept live at start, before listening")
	listenAfter := flag.Duration("listen-after", 0, "wait this long before listening")
	flag.Parse()

	errFile = os.Stderr
	if *sideErr != "" {
		teeStderr(*sideErr)
	}
	if *sideOut != "" {
		f, err := os.Create(*sideOut)
		if err != nil {
			log.Fatal(err)
		}
		stdout = multi{os.Stdout, f}
	}
	for i := 0; i < *goroutines; i++ {
		go func() { <-block }()
	}
	if *doProbe {
		go probe()
	}
	if *churn > 0 {
		go func() {
			for {
				time.Sleep(10 * time.Millisecond)
				for i := 0; i < *churn*1024/100; i++ {
					churnSink = make([]byte, 1024) // a package variable: it escapes to the heap
				}
			}
		}()
	}
	http.HandleFunc("/gc", func(w http.ResponseWriter, r *http.Request) {
		runtime.GC()
		w.Write([]byte("{}\n"))
	})

	http.HandleFunc("/work", work)
	http.HandleFunc("/grow", func(w http.ResponseWriter, r *http.Request) {
		mb, _ := strconv.Atoi(r.URL.Query().Get("mb"))
		fmt.Fprintf(w, "{\"live_mb\":%d}\n", grow(mb))
	})
	http.HandleFunc("/spawn", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		for i := 0; i < n; i++ {
			go func() { <-block }()
		}
		fmt.Fprintf(w, "{\"goroutines\":%d}\n", runtime.NumGoroutine())
	})
	http.HandleFunc("/leak", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		for i := 0; i < n; i++ {
			go leak()
		}
		fmt.Fprintf(w, "leaked %d\n", n)
	})
	http.HandleFunc("/say", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		say(stdout, &outMu, lines("stdout", n))
		say(errFile, &errMu, lines("stderr", n))
		w.Write([]byte("{}\n"))
	})
	http.HandleFunc("/stats", func(w http.ResponseWriter, r *http.Request) {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		max, p999 := probeStats()
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		json.NewEncoder(w).Encode(map[string]int64{
			"cpu_ns":   ru.Utime.Nano() + ru.Stime.Nano(),
			"requests": atomic.LoadInt64(&requests), "probe_max_ns": max, "probe_p999_ns": p999,
			"goroutines": int64(runtime.NumGoroutine()), "heap_live": int64(ms.HeapAlloc),
		})
	})
	http.HandleFunc("/stats/reset", func(w http.ResponseWriter, r *http.Request) {
		probeMu.Lock()
		probeLate, probeMax = probeLate[:0], 0
		probeMu.Unlock()
		atomic.StoreInt64(&requests, 0)
		w.Write([]byte("{}\n"))
	})
	http.HandleFunc("/quit", func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(r.URL.Query().Get("code"))
		w.Write([]byte("{}\n"))
		go func() { time.Sleep(50 * time.Millisecond); finish(code) }()
	})

	grow(*startMB)
	time.Sleep(*listenAfter)
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	say(stdout, &outMu, fmt.Sprintf("listening addr=%s pid=%d\n", ln.Addr(), os.Getpid()))

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		s := <-sigs
		say(stdout, &outMu, fmt.Sprintf("got %v\n", s))
		finish(3)
	}()
	if *chatty > 0 {
		go func() {
			for i := 0; ; i++ {
				time.Sleep(*chatty)
				say(stdout, &outMu, fmt.Sprintf("tick %d on stdout\n", i))
				say(errFile, &errMu, fmt.Sprintf("tick %d on stderr\n", i))
			}
		}()
	}
	srv := &http.Server{}
	log.SetOutput(errFile)
	if err := srv.Serve(ln); err != nil {
		log.Fatal(err)
	}
}
