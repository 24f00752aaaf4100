// bench-agent: what meanwhile-agent costs the Go service it watches. Runs the
// agent tests' service (tests/agent/service) with 10,000 idle goroutines under a
// closed-loop HTTP load, alternately without the agent (A) and under
// `meanwhile-agent run` at its default settings (B), several rounds, and prints
// each round's throughput, the service's worst pause (how late a 1 ms sleep
// woke up, measured inside the service), the slowest request, and the agent's
// memory (VmHWM). The agent sends to a sink in this process that answers 200
// (a real collector elsewhere would take the same requests); -collector URL
// sends to a real meanwhiled instead.
//
//	bench-agent -service PATH -agent PATH [-rounds 5] [-seconds 20] [-goroutines 10000]
//	            [-clients 8] [-extra] [-smoke]
//
// -extra adds a variant C: the agent with a full dump and a heap profile every 10 s,
// so that those (every 5 min and 1 min by default) happen inside the window.
// Exit status: 0 when every round ran (targets are printed, never enforced).
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

var (
	servicePath = flag.String("service", "", "the test service binary")
	agentPath   = flag.String("agent", "", "meanwhile-agent")
	rounds      = flag.Int("rounds", 5, "A/B rounds")
	seconds     = flag.Int("seconds", 20, "load per run, seconds")
	warmup      = flag.Duration("warmup", 3*time.Second, "before measuring")
	goroutines  = flag.Int("goroutines", 10000, "idle goroutines in the service")
	clients     = flag.Int("clients", 8, "concurrent requests in the throughput phase")
	rate        = flag.Int("rate", 800, "requests per second in the paced phase")
	collector   = flag.String("collector", "", "a real collector URL (default: a sink in this process)")
	extra       = flag.Bool("extra", false, "also variant C: dumps and heap profiles every 10 s")
	agentArgs   = flag.String("agent-args", "", "more arguments for the agent (space-separated), e.g. \"--goroutine-rate 1\"")
	smoke       = flag.Bool("smoke", false, "1 round of 3 s, 1000 goroutines: checks that it works")
)

type result struct {
	variant   string
	reqs      int64
	rps       float64
	probeMax  time.Duration
	probeP999 time.Duration
	slowest   time.Duration
	agentHWM  int64 // KiB
	agentRSS  int64
	sinkPosts int64
	sinkBytes int64
	agentUser float64 // CPU seconds of the agent during the run
	agentSys  float64
	svcCPU    float64 // CPU seconds of the service during the paced phase
	paced     int64   // requests answered in the paced phase
}

var sinkPosts, sinkBytes atomic.Int64

func startSink() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(err)
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		sinkPosts.Add(1)
		sinkBytes.Add(n)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"accepted":1,"skipped":0,"errors":[]}`))
	}))
	return "http://" + ln.Addr().String()
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-agent:", err)
		os.Exit(1)
	}
}

func freePort() int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func get(url string) ([]byte, error) {
	c := http.Client{Timeout: 30 * time.Second}
	r, err := c.Get(url)
	if err != nil {
		return nil, err
	}
	defer r.Body.Close()
	return io.ReadAll(r.Body)
}

// procStatus reads VmHWM and VmRSS (KiB) of pid.
func procStatus(pid int) (hwm, rss int64) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) >= 2 && (fields[0] == "VmHWM:" || fields[0] == "VmRSS:") {
			v, _ := strconv.ParseInt(fields[1], 10, 64)
			if fields[0] == "VmHWM:" {
				hwm = v
			} else {
				rss = v
			}
		}
	}
	return
}

// cpuTimes reads utime and stime (seconds) of pid.
func cpuTimes(pid int) (float64, float64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	u, _ := strconv.ParseFloat(f[11], 64)
	sy, _ := strconv.ParseFloat(f[12], 64)
	return u / 100, sy / 100 // USER_HZ
}

func run(variant, sink string, dir string) result {
	port := freePort()
	svcArgs := []string{"-listen", fmt.Sprintf("127.0.0.1:%d", port), "-goroutines", strconv.Itoa(*goroutines), "-probe"}
	var cmd *exec.Cmd
	if variant == "A" {
		cmd = exec.Command(*servicePath, svcArgs...)
	} else {
		args := []string{"run", "--collector", sink, "--pprof", fmt.Sprintf("http://127.0.0.1:%d/debug/pprof", port),
			"--service", "bench", "--spool-dir", filepath.Join(dir, "spool-"+variant), "--log-file", filepath.Join(dir, "agent.log")}
		args = append(args, strings.Fields(*agentArgs)...)
		if variant == "C" {
			args = append(args, "--dump-interval", "10s", "--heap-interval", "10s")
		}
		args = append(args, "--")
		args = append(args, *servicePath)
		args = append(args, svcArgs...)
		cmd = exec.Command(*agentPath, args...)
	}
	cmd.Env = append(os.Environ(), "GOMAXPROCS=2")
	cmd.Stdout = io.Discard
	cmd.Stderr = io.Discard
	must(cmd.Start())
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	}()
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	for i := 0; ; i++ {
		if _, err := get(base + "/stats"); err == nil {
			break
		}
		if i > 200 {
			must(fmt.Errorf("the service did not start"))
		}
		time.Sleep(50 * time.Millisecond)
	}

	stats := func() map[string]int64 {
		body, err := get(base + "/stats")
		must(err)
		var st map[string]int64
		must(json.Unmarshal(body, &st))
		return st
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64}
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	do := func() time.Duration {
		t0 := time.Now()
		r, err := client.Get(base + "/work")
		if err != nil {
			return -1
		}
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
		return time.Since(t0)
	}
	res := result{variant: variant}
	pid := cmd.Process.Pid
	time.Sleep(*warmup)

	// phase 1, paced: a fixed rate well below saturation. The service's CPU per
	// request (and the agent's) is what throughput at saturation depends on, without
	// the noise of a load generator fighting for the same 2 CPUs; pauses seen here
	// are the runtime's and the profiles', not a full run queue's.
	_, err := get(base + "/stats/reset")
	must(err)
	st0 := stats()
	u0, s0 := cpuTimes(pid)
	sinkPosts.Store(0)
	sinkBytes.Store(0)
	var paced atomic.Int64
	var slowest atomic.Int64
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Second / time.Duration(*rate))
	end := time.Now().Add(time.Duration(*seconds) * time.Second)
	for time.Now().Before(end) {
		<-tick.C
		wg.Add(1)
		go func() {
			defer wg.Done()
			if d := do(); d >= 0 {
				paced.Add(1)
				for old := slowest.Load(); int64(d) > old && !slowest.CompareAndSwap(old, int64(d)); old = slowest.Load() {
				}
			}
		}()
	}
	tick.Stop()
	wg.Wait()
	st1 := stats()
	res.paced = paced.Load()
	res.svcCPU = float64(st1["cpu_ns"]-st0["cpu_ns"]) / 1e9
	res.probeMax, res.probeP999 = time.Duration(st1["probe_max_ns"]), time.Duration(st1["probe_p999_ns"])
	res.slowest = time.Duration(slowest.Load())
	res.sinkPosts, res.sinkBytes = sinkPosts.Load(), sinkBytes.Load()
	if variant != "A" {
		u1, s1 := cpuTimes(pid)
		res.agentUser, res.agentSys = u1-u0, s1-s0
	}

	// phase 2, saturated: clients as fast as they can, the requests per second
	var count atomic.Int64
	stop := make(chan struct{})
	for c := 0; c < *clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if do() >= 0 {
					count.Add(1)
				}
			}
		}()
	}
	time.Sleep(time.Second)
	count.Store(0)
	t0 := time.Now()
	time.Sleep(time.Duration(*seconds) * time.Second)
	n := count.Load()
	el := time.Since(t0)
	close(stop)
	wg.Wait()
	res.reqs, res.rps = n, float64(n)/el.Seconds()
	if variant != "A" {
		res.agentHWM, res.agentRSS = procStatus(pid)
	}
	tr.CloseIdleConnections()
	return res
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

func main() {
	flag.Parse()
	if *smoke {
		*rounds, *seconds, *goroutines, *warmup = 1, 3, 1000, time.Second
	}
	if *servicePath == "" || *agentPath == "" {
		fmt.Fprintln(os.Stderr, "usage: bench-agent -service PATH -agent PATH [flags]")
		os.Exit(2)
	}
	sink := *collector
	if sink == "" {
		sink = startSink()
	}
	dir, err := os.MkdirTemp("", "bench-agent-")
	must(err)
	defer os.RemoveAll(dir)
	variants := []string{"A", "B"}
	if *extra {
		variants = append(variants, "C")
	}
	fmt.Printf("bench-agent: %d rounds x (%d s paced at %d req/s + %d s saturated), %d clients, %d idle goroutines, GOMAXPROCS=2, %d CPUs; collector: %s\n",
		*rounds, *seconds, *rate, *seconds, *clients, *goroutines, numCPU(), map[bool]string{true: "sink in this process", false: sink}[*collector == ""])
	fmt.Println("A: the service alone   B: under meanwhile-agent, default settings" +
		map[bool]string{true: "   C: B with a debug=2 dump and a heap profile every 10 s", false: ""}[*extra])
	fmt.Printf("%-5s %-3s %8s %11s %10s %11s %11s %10s %9s %8s %8s %12s\n", "round", "run", "paced", "us_cpu/req",
		"worst_ms", "p99.9_ms", "slowest_ms", "sat_req/s", "agent_MiB", "agent_ms", "ag_us/req", "sent")
	all := map[string][]result{}
	for r := 1; r <= *rounds; r++ {
		order := append([]string(nil), variants...)
		if r%2 == 0 { // alternate, so that a machine that drifts does not favour one side
			for i, j := 0, len(order)-1; i < j; i, j = i+1, j-1 {
				order[i], order[j] = order[j], order[i]
			}
		}
		for _, v := range order {
			res := run(v, sink, dir)
			all[v] = append(all[v], res)
			agentMiB, agentMs, agentPer, sent := "-", "-", "-", "-"
			if v != "A" {
				agentMiB = fmt.Sprintf("%.1f", float64(res.agentHWM)/1024)
				agentMs = fmt.Sprintf("%.0f", (res.agentUser+res.agentSys)*1e3)
				agentPer = fmt.Sprintf("%.1f", (res.agentUser+res.agentSys)*1e6/float64(res.paced))
				sent = fmt.Sprintf("%d/%.1fMB", res.sinkPosts, float64(res.sinkBytes)/1e6)
			}
			fmt.Printf("%-5d %-3s %8d %11.1f %10.2f %11.2f %11.1f %10.0f %9s %8s %8s %12s\n", r, v, res.paced,
				res.svcCPU*1e6/float64(res.paced), ms(res.probeMax), ms(res.probeP999), ms(res.slowest), res.rps,
				agentMiB, agentMs, agentPer, sent)
		}
	}
	type sum struct{ cpuPerReq, rps, worst, medWorst, p999, slowest, hwm float64 }
	summary := func(v string) (o sum) {
		var c, r, w, p, sl []float64
		for _, x := range all[v] {
			c = append(c, (x.svcCPU+x.agentUser+x.agentSys)*1e6/float64(x.paced))
			r = append(r, x.rps)
			w = append(w, ms(x.probeMax))
			p = append(p, ms(x.probeP999))
			sl = append(sl, ms(x.slowest))
			if hwm := float64(x.agentHWM) / 1024; hwm > o.hwm {
				o.hwm = hwm
			}
			if ms(x.probeMax) > o.worst {
				o.worst = ms(x.probeMax)
			}
		}
		o.cpuPerReq, o.rps, o.medWorst, o.p999, o.slowest = median(c), median(r), median(w), median(p), median(sl)
		return o
	}
	a := summary("A")
	fmt.Println()
	fmt.Printf("A  CPU per request %.1f us (service), saturated %.0f req/s, worst pause %.2f ms (median of rounds %.2f), "+
		"p99.9 %.2f ms, slowest request %.1f ms (medians over %d rounds)\n", a.cpuPerReq, a.rps, a.worst, a.medWorst, a.p999,
		a.slowest, *rounds)
	for _, v := range variants[1:] {
		b := summary(v)
		capacity := (a.cpuPerReq/b.cpuPerReq - 1) * 100
		fmt.Printf("%s  CPU per request %.1f us (service + agent), saturated %.0f req/s, worst pause %.2f ms (median of "+
			"rounds %.2f), p99.9 %.2f ms, slowest request %.1f ms, agent peak memory %.1f MiB\n", v, b.cpuPerReq, b.rps,
			b.worst, b.medWorst, b.p999, b.slowest, b.hwm)
		fmt.Printf("%s vs A: throughput from CPU per request %+.2f%%, measured at saturation %+.2f%% (target within 2%%: %v); "+
			"added worst pause %+.2f ms (median of rounds; worst round %+.2f ms; target <= 5 ms: %v); agent memory %.1f MiB "+
			"(target <= 32 MiB: %v)\n", v, capacity, (b.rps/a.rps-1)*100, capacity >= -2, b.medWorst-a.medWorst,
			b.worst-a.worst, b.medWorst-a.medWorst <= 5, b.hwm, b.hwm <= 32)
	}
}

func numCPU() int {
	b, _ := os.ReadFile("/proc/cpuinfo")
	return strings.Count(string(b), "processor\t:")
}
