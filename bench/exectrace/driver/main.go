// bench-exectrace: what reading and storing a 10 MiB flight-recorder window
// costs (docs/PERFORMANCE.md, "Execution traces"), against baselines measured
// in the same run.
//
//		bench-exectrace -reader build/exectrace/meanwhile-exectrace -server build/meanwhiled [-size 10] [-reps 5] [-smoke]
//
//	 1. The window: a busy service in this process (busy.go: HTTP on loopback, a
//	    worker pool over channels, a contended mutex, timers, allocation; every
//	    request in a task with a span log event) runs under
//	    runtime/trace.FlightRecorder until a written window reaches -size MiB
//	    (or -trace FILE reads one instead).
//	 2. Reading, one core (GOMAXPROCS=1): meanwhile-exectrace on stdin, against
//	    this program's -parse-only (golang.org/x/exp/trace reading every event and
//	    doing nothing with it: the floor of any reader built on it). Wall and CPU
//	    time (the child's rusage), best and median of -reps.
//	 3. Storing: meanwhiled pinned to one CPU (taskset -c 0; its reader children
//	    inherit it) with a fresh data directory; POST /api/v1/ingest/exectrace
//	    -reps times; the time to the 200 (parse + store: the answer waits for
//	    both), the server's CPU per push (its own and its reaped children's, from
//	    /proc), stored_bytes from each answer, and the database's growth (data
//	    directory after a clean stop, against the same after a start and stop
//	    with nothing pushed) per push. Baseline: zstd -19 and zstd -3 of the raw
//	    trace (size and time).
//
// Targets (issue 13): push to 200 <= 1 s on one core; stored bytes / raw <= 0.3,
// the raw copy's compression included. -smoke: a ~1 MiB window, 2 reps, no
// targets, for ctest (it checks that everything answers).
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/exp/trace"
)

func fail(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "bench-exectrace: "+format+"\n", a...)
	os.Exit(1)
}

// parseOnly reads a trace on stdin with x/exp/trace and counts its events.
func parseOnly() {
	r, err := trace.NewReader(bufio.NewReaderSize(os.Stdin, 1<<20))
	if err != nil {
		fail("-parse-only: %v", err)
	}
	n := 0
	for {
		_, err := r.ReadEvent()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fail("-parse-only: after %d events: %v", n, err)
		}
		n++
	}
	fmt.Println(n)
}

// run is one timed child process.
type run struct {
	wall, cpu time.Duration
	out       []byte
}

func timed(stdin []byte, env []string, name string, args ...string) (run, error) {
	cmd := exec.Command(name, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	t0 := time.Now()
	err := cmd.Run()
	wall := time.Since(t0)
	if err != nil {
		return run{}, fmt.Errorf("%s: %v: %s", name, err, strings.TrimSpace(errb.String()))
	}
	return run{wall: wall, cpu: cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), out: out.Bytes()}, nil
}

type stat struct{ best, median time.Duration }

func stats(d []time.Duration) stat {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return stat{s[0], s[len(s)/2]}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/1e6) }

// repeat runs a child reps times; the walls and CPU times.
func repeat(reps int, stdin []byte, env []string, name string, args ...string) (walls, cpus []time.Duration, last run) {
	for i := 0; i < reps; i++ {
		r, err := timed(stdin, env, name, args...)
		if err != nil {
			fail("%v", err)
		}
		walls, cpus, last = append(walls, r.wall), append(cpus, r.cpu), r
	}
	return walls, cpus, last
}

func dirBytes(dir string) int64 {
	var n int64
	filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			n += fi.Size()
		}
		return nil
	})
	return n
}

// server is a meanwhiled on one CPU.
type server struct {
	cmd  *exec.Cmd
	base string
	log  *bytes.Buffer
}

var listening = regexp.MustCompile(`msg="?listening"?.*addr="?127\.0\.0\.1:(\d+)`)

func startServer(bin, dataDir string, extra []string) (*server, error) {
	args := append([]string{"-c", "0", bin, "--listen", "127.0.0.1:0", "--data", dataDir, "--retention", "0", "--exectrace-reader", readerPath}, extra...)
	cmd := exec.Command("taskset", args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{cmd: cmd, log: &bytes.Buffer{}}
	port := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			s.log.WriteString(sc.Text() + "\n")
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case port <- m[1]:
				default:
				}
			}
		}
	}()
	select {
	case p := <-port:
		s.base = "http://127.0.0.1:" + p
		return s, nil
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		return nil, fmt.Errorf("meanwhiled did not listen within 15 s: %s", s.log.String())
	}
}

func (s *server) stop() error {
	s.cmd.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill()
		return errors.New("meanwhiled did not stop within 30 s")
	}
}

// cpuTicks is the CPU time of pid and its reaped children, from /proc.
func cpuTicks(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	var t int64
	for _, i := range []int{11, 12, 13, 14} { // utime stime cutime cstime (fields 14-17)
		v, _ := strconv.ParseInt(f[i], 10, 64)
		t += v
	}
	return time.Duration(t) * 10 * time.Millisecond // USER_HZ 100
}

var readerPath string // meanwhile-exectrace, for meanwhiled too

type ingestAnswer struct {
	ID          int64  `json:"id"`
	Goroutines  int64  `json:"goroutines"`
	Intervals   int64  `json:"intervals"`
	Wakes       int64  `json:"wakes"`
	Spans       int64  `json:"spans"`
	Alignment   string `json:"alignment"`
	RawBytes    int64  `json:"raw_bytes"`
	StoredBytes int64  `json:"stored_bytes"`
}

func main() {
	reader := flag.String("reader", "", "meanwhile-exectrace")
	srvBin := flag.String("server", "", "meanwhiled")
	sizeMiB := flag.Float64("size", 10, "window size, MiB")
	reps := flag.Int("reps", 5, "repetitions of each measurement")
	traceFile := flag.String("trace", "", "read this trace instead of making a window")
	keep := flag.String("keep", "", "write the window to this file")
	smoke := flag.Bool("smoke", false, "a small window, 2 reps, no targets (ctest)")
	parse := flag.Bool("parse-only", false, "read a trace on stdin with x/exp/trace and print the event count")
	var serverArgs multiFlag
	flag.Var(&serverArgs, "server-arg", "an extra meanwhiled argument (repeatable)")
	flag.Parse()
	if *parse {
		parseOnly()
		return
	}
	if *reader == "" || *srvBin == "" {
		fail("usage: bench-exectrace -reader PATH -server PATH [-size MiB] [-reps N] [-trace FILE] [-smoke]")
	}
	if *smoke {
		*sizeMiB, *reps = 1, 2
	}
	readerPath = *reader
	self, err := os.Executable()
	if err != nil {
		fail("%v", err)
	}
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Printf("bench-exectrace: %s, %d CPUs, load %s", runtime.Version(), runtime.NumCPU(), load)

	// 1. the window
	var raw []byte
	if *traceFile != "" {
		if raw, err = os.ReadFile(*traceFile); err != nil {
			fail("%v", err)
		}
	} else {
		t0 := time.Now()
		if raw, err = window(int(*sizeMiB*(1<<20)), 90*time.Second); err != nil {
			fail("window: %v", err)
		}
		fmt.Printf("window: %.2f MiB in %.1f s of the busy service\n", float64(len(raw))/(1<<20), time.Since(t0).Seconds())
	}
	if *keep != "" {
		if err := os.WriteFile(*keep, raw, 0o644); err != nil {
			fail("%v", err)
		}
	}
	rawMiB := float64(len(raw)) / (1 << 20)

	// 2. reading on one core
	one := []string{"GOMAXPROCS=1"}
	pw, pc, pr := repeat(*reps, raw, one, self, "-parse-only")
	rw, rc, rr := repeat(*reps, raw, one, *reader)
	fmt.Printf("\nreading %.2f MiB on one core (GOMAXPROCS=1), best / median of %d:\n", rawMiB, *reps)
	fmt.Printf("  x/exp/trace alone (%s events)  wall %s / %s  cpu %s / %s\n", strings.TrimSpace(string(pr.out)),
		ms(stats(pw).best), ms(stats(pw).median), ms(stats(pc).best), ms(stats(pc).median))
	fmt.Printf("  meanwhile-exectrace (%d bytes out)  wall %s / %s  cpu %s / %s  (x%.2f the x/exp/trace floor, median wall)\n",
		len(rr.out), ms(stats(rw).best), ms(stats(rw).median), ms(stats(rc).best), ms(stats(rc).median),
		float64(stats(rw).median)/float64(stats(pw).median))

	// baseline: zstd of the raw trace
	zw19, _, z19 := repeat(1, raw, nil, "zstd", "-19", "-c", "-q")
	zw3, _, z3 := repeat(1, raw, nil, "zstd", "-3", "-c", "-q")
	fmt.Printf("\nzstd -19 of the raw trace: %d bytes (%.3f of raw) in %s; zstd -3: %d bytes (%.3f) in %s\n",
		len(z19.out), float64(len(z19.out))/float64(len(raw)), ms(zw19[0]), len(z3.out), float64(len(z3.out))/float64(len(raw)), ms(zw3[0]))

	// 3. storing: the database's size with nothing pushed, then with reps pushes
	dir, err := os.MkdirTemp("", "bench-exectrace-")
	if err != nil {
		fail("%v", err)
	}
	defer os.RemoveAll(dir)
	s, err := startServer(*srvBin, dir, serverArgs)
	if err != nil {
		fail("%v", err)
	}
	if err := s.stop(); err != nil {
		fail("meanwhiled (empty): %v\n%s", err, s.log)
	}
	empty := dirBytes(dir)
	if s, err = startServer(*srvBin, dir, serverArgs); err != nil {
		fail("%v", err)
	}
	var pushes, cpus []time.Duration
	var answers []ingestAnswer
	for i := 0; i < *reps; i++ {
		url := fmt.Sprintf("%s/api/v1/ingest/exectrace?service=bench-exectrace&instance=i%d&trigger=manual", s.base, i)
		c0 := cpuTicks(s.cmd.Process.Pid)
		t0 := time.Now()
		resp, err := http.Post(url, "application/octet-stream", bytes.NewReader(raw))
		if err != nil {
			s.stop()
			fail("push %d: %v", i, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		d := time.Since(t0)
		if resp.StatusCode != 200 {
			s.stop()
			fail("push %d: %d %s\n%s", i, resp.StatusCode, body, s.log)
		}
		var a ingestAnswer
		if err := json.Unmarshal(body, &a); err != nil {
			fail("push %d: %v: %s", i, err, body)
		}
		pushes, cpus, answers = append(pushes, d), append(cpus, cpuTicks(s.cmd.Process.Pid)-c0), append(answers, a)
	}
	if err := s.stop(); err != nil {
		fail("meanwhiled: %v\n%s", err, s.log)
	}
	growth := float64(dirBytes(dir)-empty) / float64(*reps)
	a := answers[len(answers)-1]
	ps, cs := stats(pushes), stats(cpus)
	fmt.Printf("\nPOST /api/v1/ingest/exectrace, meanwhiled on one CPU (taskset -c 0), best / median of %d:\n", *reps)
	fmt.Printf("  push to 200: %s / %s (target <= 1000 ms; x%.2f the reader alone, median wall)\n", ms(ps.best), ms(ps.median),
		float64(ps.median)/float64(stats(rw).median))
	fmt.Printf("  server CPU per push (its own and its reader's): %s / %s\n", ms(cs.best), ms(cs.median))
	fmt.Printf("  the trace: %d goroutines, %d intervals, %d wakes, %d spans, alignment %s\n", a.Goroutines, a.Intervals, a.Wakes, a.Spans, a.Alignment)
	fmt.Printf("  stored_bytes (answer): %d = %.3f of raw (target <= 0.3; zstd -19 alone: %.3f)\n", a.StoredBytes,
		float64(a.StoredBytes)/float64(len(raw)), float64(len(z19.out))/float64(len(raw)))
	fmt.Printf("  database growth per push (data directory after a clean stop): %.0f bytes = %.3f of raw\n", growth, growth/float64(len(raw)))
	if a.RawBytes != int64(len(raw)) {
		fail("raw_bytes %d, pushed %d", a.RawBytes, len(raw))
	}
	if *smoke {
		fmt.Println("smoke: ok")
		return
	}
	met := func(ok bool) string {
		if ok {
			return "met"
		}
		return "MISSED"
	}
	fmt.Printf("\ntargets: push to 200 <= 1 s: %s (median %s); stored / raw <= 0.3: %s (answer %.3f, database %.3f)\n",
		met(ps.median <= time.Second), ms(ps.median), met(float64(a.StoredBytes) <= 0.3*float64(len(raw)) && growth <= 0.3*float64(len(raw))),
		float64(a.StoredBytes)/float64(len(raw)), growth/float64(len(raw)))
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, " ") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
