// bench-flightrec: what client/go's flight recorder costs an HTTP service, A/B
// in one run. The same binary is the driver and, with -serve, the service: an
// HTTP server whose handler runs a server span and two child spans through the
// OpenTelemetry SDK (batching to an exporter that drops the spans) wrapped by
// client/go, with a little CPU work and a 1 ms wait per request, and one
// request in -slow-every that waits 60 ms (a slow span: over its p99 and the
// 20 ms floor). In mode "on" the service runs the flight recorder at its
// defaults, sending windows to a sink in the driver that answers 200 (or to a
// real meanwhiled with -meanwhiled URL); in mode "off" the provider is wrapped
// without it and the runtime's tracer is off.
//
// Each round starts a fresh service in one mode and measures
//
//	paced      -rate requests/s from -clients clients for -seconds: the
//	           latency p50/p99/max of the requests and the service's CPU time
//	           per request (its getrusage; what throughput at saturation
//	           depends on, without the load generator's noise)
//	saturated  -clients clients as fast as they can for -seconds: requests/s
//
// Rounds alternate off/on in the order off on on off off on ... so that drift
// of a shared machine falls on both modes. The summary prints the medians per
// mode and their ratios on/off, and the medians of the ratios of the pairs of
// rounds run back to back (1-2, 3-4, ...).
//
//	cd bench/flightrec && go run . -rounds 6 -seconds 10
package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	meanwhile "github.com/meanwhile-dev/meanwhile/client/go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

var (
	serve      = flag.String("serve", "", "run as the service in this mode (off|on); the driver sets it")
	rounds     = flag.Int("rounds", 6, "rounds (each mode runs rounds/2 times)")
	seconds    = flag.Float64("seconds", 10, "seconds of each phase")
	rate       = flag.Int("rate", 1000, "requests/s of the paced phase")
	clients    = flag.Int("clients", 8, "concurrent clients")
	slowEvery  = flag.Int("slow-every", 2000, "one request in this many is slow (60 ms)")
	meanwhiled = flag.String("meanwhiled", "", "send windows to this meanwhiled instead of the driver's sink")
	procs      = flag.Int("procs", 0, "GOMAXPROCS of the service (0: the machine's)")
	work       = flag.Int("work", 200, "SHA-256 rounds per request (CPU work: 200 ≈ 60 µs)")
)

func main() {
	flag.Parse()
	if *serve != "" {
		service(*serve)
		return
	}
	driver()
}

// ---- the service ----

type discard struct{}

func (discard) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discard) Shutdown(context.Context) error                             { return nil }

func service(mode string) {
	res := resource.NewSchemaless(attribute.String("service.name", "bench-flightrec"),
		attribute.String("service.instance.id", strconv.Itoa(os.Getpid())))
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(discard{}), sdktrace.WithResource(res))
	var opts []meanwhile.Option
	var rec *meanwhile.FlightRecorder
	if mode == "on" {
		var err error
		rec, err = meanwhile.StartFlightRecorder(meanwhile.FlightRecorderConfig{Endpoint: os.Getenv("MW_ENDPOINT")})
		if err != nil {
			log.Fatal(err)
		}
		opts = append(opts, meanwhile.WithFlightRecorder(rec))
	}
	tr := meanwhile.WrapTracerProvider(tp, opts...).Tracer("bench")
	var n atomic.Uint64
	slow := uint64(*slowEvery)
	http.HandleFunc("/work", func(w http.ResponseWriter, r *http.Request) {
		ctx, sp := tr.Start(r.Context(), "GET /work", trace.WithSpanKind(trace.SpanKindServer))
		defer sp.End()
		_, c := tr.Start(ctx, "compute")
		sum := sha256.Sum256([]byte(r.URL.RawQuery))
		for range *work {
			sum = sha256.Sum256(sum[:])
		}
		c.End()
		_, q := tr.Start(ctx, "query")
		wait := time.Millisecond
		if slow > 0 && n.Add(1)%slow == 0 {
			wait = 60 * time.Millisecond
		}
		time.Sleep(wait)
		q.End()
		_, _ = w.Write(sum[:8])
	})
	http.HandleFunc("/stats", func(w http.ResponseWriter, r *http.Request) {
		var ru syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		var s meanwhile.FlightRecorderStats
		if rec != nil {
			s = rec.Stats()
		}
		fmt.Fprintf(w, "%d %d %d %d %d %d\n", ru.Utime.Nano()+ru.Stime.Nano(), s.SlowSpans, s.Windows, s.Sent, s.SentBytes, s.OverBudget+s.Dropped)
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(l.Addr().String())
	log.Fatal(http.Serve(l, nil))
}

// ---- the driver ----

type stats struct {
	cpu                                     int64 // ns of the service's CPU time
	slow, windows, sent, sentBytes, notSent int64
}

func getStats(c *http.Client, addr string) stats {
	resp, err := c.Get("http://" + addr + "/stats")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	var s stats
	if _, err := fmt.Fscan(resp.Body, &s.cpu, &s.slow, &s.windows, &s.sent, &s.sentBytes, &s.notSent); err != nil {
		log.Fatal(err)
	}
	return s
}

type result struct {
	mode                 string
	p50, p99, max        time.Duration
	cpuPerReq            time.Duration
	rps                  float64
	windows, sent, bytes int64
	slow, notSent        int64
}

func driver() {
	endpoint := *meanwhiled
	var sinkBytes atomic.Int64
	if endpoint == "" {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			log.Fatal(err)
		}
		go http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n, _ := io.Copy(io.Discard, r.Body)
			sinkBytes.Add(n)
			_, _ = w.Write([]byte(`{"id":1}`))
		}))
		endpoint = "http://" + l.Addr().String()
	}
	exe, err := os.Executable()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("bench-flightrec: %d rounds of %gs paced (%d/s) + %gs saturated, %d clients, 1 slow request in %d, %d SHA-256 rounds each\n",
		*rounds, *seconds, *rate, *seconds, *clients, *slowEvery, *work)
	var results []result
	for i := range *rounds {
		// off on on off off on ...
		mode := []string{"off", "on"}[((i+1)/2)%2]
		r := round(exe, mode, endpoint)
		results = append(results, r)
		fmt.Printf("round %d %-3s  paced p50 %6.2fms p99 %6.2fms max %6.1fms cpu/req %5.1fµs | saturated %7.0f req/s | slow spans %d windows %d sent %d (%.1f MiB) not sent %d\n",
			i+1, mode, ms(r.p50), ms(r.p99), ms(r.max), float64(r.cpuPerReq)/1e3, r.rps, r.slow, r.windows, r.sent, float64(r.bytes)/(1<<20), r.notSent)
	}
	med := func(mode string, f func(result) float64) float64 {
		var v []float64
		for _, r := range results {
			if r.mode == mode {
				v = append(v, f(r))
			}
		}
		slices.Sort(v)
		if len(v) == 0 {
			return 0
		}
		if len(v)%2 == 0 {
			return (v[len(v)/2-1] + v[len(v)/2]) / 2
		}
		return v[len(v)/2]
	}
	fmt.Println("medians per mode:")
	for _, row := range []struct {
		name string
		f    func(result) float64
	}{
		{"saturated req/s", func(r result) float64 { return r.rps }},
		{"paced p99 ms", func(r result) float64 { return ms(r.p99) }},
		{"paced p50 ms", func(r result) float64 { return ms(r.p50) }},
		{"cpu µs/req", func(r result) float64 { return float64(r.cpuPerReq) / 1e3 }},
	} {
		off, on := med("off", row.f), med("on", row.f)
		fmt.Printf("  %-16s off %9.3f  on %9.3f  on/off %.4f  on-off %+.3f\n", row.name, off, on, on/off, on-off)
	}
	// Rounds 2k and 2k+1 are one off and one on, run back to back: their
	// ratio is less moved by the machine's drift than the medians are.
	fmt.Println("medians of the pairs of rounds (1-2, 3-4, ...):")
	pair := func(f func(on, off result) float64) float64 {
		var v []float64
		for i := 0; i+1 < len(results); i += 2 {
			a, b := results[i], results[i+1]
			if a.mode == "on" {
				a, b = b, a
			}
			v = append(v, f(b, a))
		}
		slices.Sort(v)
		if len(v)%2 == 0 {
			return (v[len(v)/2-1] + v[len(v)/2]) / 2
		}
		return v[len(v)/2]
	}
	fmt.Printf("  saturated req/s  on/off %.4f\n", pair(func(on, off result) float64 { return on.rps / off.rps }))
	fmt.Printf("  paced p99        on-off %+.3f ms\n", pair(func(on, off result) float64 { return ms(on.p99) - ms(off.p99) }))
	fmt.Printf("  cpu/req          on/off %.4f\n", pair(func(on, off result) float64 { return float64(on.cpuPerReq) / float64(off.cpuPerReq) }))
	fmt.Println("targets: saturated req/s on/off >= 0.97; paced p99 on-off <= 1 ms")
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

func round(exe, mode, endpoint string) result {
	cmd := exec.Command(exe, "-serve", mode, "-slow-every", strconv.Itoa(*slowEvery), "-work", strconv.Itoa(*work))
	cmd.Env = append(os.Environ(), "MW_ENDPOINT="+endpoint)
	if *procs > 0 {
		cmd.Env = append(cmd.Env, "GOMAXPROCS="+strconv.Itoa(*procs))
	}
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		log.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		log.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		log.Fatal(err)
	}
	addr = strings.TrimSpace(addr)
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *clients * 2}}
	d := time.Duration(*seconds * float64(time.Second))

	load(c, addr, time.Second, 0) // warm-up: the p99 rings fill, connections open
	s0 := getStats(c, addr)
	lat := load(c, addr, d, *rate)
	s1 := getStats(c, addr)
	n := len(lat)
	sat := load(c, addr, d, 0)
	s2 := getStats(c, addr)
	slices.Sort(lat)
	return result{
		mode: mode, p50: lat[n/2], p99: lat[n*99/100], max: lat[n-1],
		cpuPerReq: time.Duration((s1.cpu - s0.cpu) / int64(n)),
		rps:       float64(len(sat)) / d.Seconds(),
		slow:      s2.slow - s0.slow, windows: s2.windows - s0.windows, sent: s2.sent - s0.sent,
		bytes: s2.sentBytes - s0.sentBytes, notSent: s2.notSent - s0.notSent,
	}
}

// load sends requests from the clients for d, at rate requests/s in all
// (paced: each client keeps its own schedule) or as fast as they can (rate
// 0), and returns their latencies, measured from the scheduled send time when
// paced so that a stall counts for the requests it delayed.
func load(c *http.Client, addr string, d time.Duration, rate int) []time.Duration {
	url := "http://" + addr + "/work?x="
	var mu sync.Mutex
	var all []time.Duration
	var wg sync.WaitGroup
	start := time.Now()
	end := start.Add(d)
	for k := range *clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lat []time.Duration
			var interval time.Duration
			if rate > 0 {
				interval = time.Duration(int64(time.Second) * int64(*clients) / int64(rate))
			}
			next := start.Add(time.Duration(k) * interval / time.Duration(*clients))
			for i := 0; ; i++ {
				t0 := time.Now()
				if rate > 0 {
					if next.After(end) {
						break
					}
					time.Sleep(time.Until(next))
					t0 = next
					next = next.Add(interval)
				} else if t0.After(end) {
					break
				}
				resp, err := c.Get(url + strconv.Itoa(k*1_000_000+i))
				if err != nil {
					log.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lat = append(lat, time.Since(t0))
			}
			mu.Lock()
			all = append(all, lat...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return all
}
