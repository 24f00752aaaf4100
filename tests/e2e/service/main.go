// The e2e service: a small net/http server whose requests are slow for known
// reasons, traced by hand (OTLP/JSON over HTTP, no external modules) and
// instrumented like the fixture service of /work/shared/fixtures: every span's
// code runs inside pprof.Do with the labels trace_id, span_id and span_name,
// so CPU samples and goroutine profiles name the span they belong to.
//
//	GET /work?kind=K   root span "GET /work" (server) with one child span:
//	    mutex  inventory.reserve  Lock a sync.Mutex that a background goroutine
//	                              holds ~100 ms at a time, in a loop
//	    chan   queue.wait         receive from a channel that a slow producer
//	                              feeds ~100 ms after being asked
//	    cpu    price.compute      ~100 ms of pure computation (computePrices)
//	    alloc  render             ~100 ms of allocation (1500 blocks of 64 KiB,
//	                              the last 64 kept live) at GOGC=50 over a live
//	                              heap that is one long chain: GC assists
//	    io     db.query           read from a local TCP peer that answers after
//	                              ~100 ms (netpoll: IO wait)
//	    sleep  backoff            time.Sleep(100 ms)
//	    fast   cache.get          a couple of milliseconds
//	  answers {"trace_id","span_id","child_span_id","child":name,"kind"}.
//	/flush             exports the spans still buffered; answers {"exported","failed"}
//	/debug/pprof/...   net/http/pprof
//
// Flags: -listen (default 127.0.0.1:0; the chosen address is printed on stdout as
// "listening addr=HOST:PORT"), -service, -instance, -meanwhile (default
// $MEANWHILE_URL), -gc-percent (50, unless $GOGC is set), -ballast (objects in the
// chain), -alloc-objects and -alloc-size (what a render request allocates; size 0
// selects small pointer-bearing objects instead of blocks). GOMAXPROCS is 2 unless
// the GOMAXPROCS variable says otherwise.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
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
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"sync"
	"syscall"
	"time"
)

const slow = 100 * time.Millisecond

// ---------------------------------------------------------------- ids, spans

func randHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

type attr struct {
	Key   string            `json:"key"`
	Value map[string]string `json:"value"`
}

func strAttr(k, v string) attr { return attr{Key: k, Value: map[string]string{"stringValue": v}} }

type span struct {
	TraceID           string   `json:"traceId"`
	SpanID            string   `json:"spanId"`
	ParentSpanID      string   `json:"parentSpanId,omitempty"`
	Name              string   `json:"name"`
	Kind              int      `json:"kind"`
	StartTimeUnixNano string   `json:"startTimeUnixNano"`
	EndTimeUnixNano   string   `json:"endTimeUnixNano"`
	Attributes        []attr   `json:"attributes,omitempty"`
	Status            struct{} `json:"status"`
}

func newSpan(traceID, spanID, parent, name string, kind int, start, end time.Time, attrs ...attr) span {
	return span{TraceID: traceID, SpanID: spanID, ParentSpanID: parent, Name: name, Kind: kind,
		StartTimeUnixNano: strconv.FormatInt(start.UnixNano(), 10),
		EndTimeUnixNano:   strconv.FormatInt(end.UnixNano(), 10), Attributes: attrs}
}

// ---------------------------------------------------------------- OTLP/JSON export

// exporter buffers finished spans and POSTs them as OTLP/JSON
// ExportTraceServiceRequest bodies to <url>/v1/traces, every 250 ms or 256 spans.
type exporter struct {
	url      string
	resource []attr
	client   *http.Client

	mu       sync.Mutex
	buf      []span
	kick     chan struct{}
	flushMu  sync.Mutex // one POST sequence at a time
	exported int
	failed   int
}

func newExporter(url string, resource []attr) *exporter {
	return &exporter{url: url, resource: resource, kick: make(chan struct{}, 1),
		client: &http.Client{Timeout: 30 * time.Second}}
}

func (e *exporter) add(s ...span) {
	e.mu.Lock()
	e.buf = append(e.buf, s...)
	full := len(e.buf) >= 256
	e.mu.Unlock()
	if full {
		select {
		case e.kick <- struct{}{}:
		default:
		}
	}
}

func (e *exporter) loop() {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-e.kick:
		}
		e.flush()
	}
}

// flush sends everything buffered; returns the totals so far.
func (e *exporter) flush() (exported, failed int) {
	e.flushMu.Lock()
	defer e.flushMu.Unlock()
	for {
		e.mu.Lock()
		batch := e.buf
		if len(batch) > 512 {
			batch = batch[:512]
		}
		e.buf = e.buf[len(batch):]
		e.mu.Unlock()
		if len(batch) == 0 {
			break
		}
		if err := e.post(batch); err != nil {
			log.Printf("e2e-service: export of %d spans failed: %v", len(batch), err)
			e.failed += len(batch)
		} else {
			e.exported += len(batch)
		}
	}
	return e.exported, e.failed
}

func (e *exporter) post(batch []span) error {
	if e.url == "" {
		return nil
	}
	req := map[string]any{
		"resourceSpans": []any{map[string]any{
			"resource": map[string]any{"attributes": e.resource},
			"scopeSpans": []any{map[string]any{
				"scope": map[string]string{"name": "meanwhile.e2e/service", "version": "0.1.0"},
				"spans": batch,
			}},
		}},
	}
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		resp, err := e.client.Post(e.url+"/v1/traces", "application/json", bytes.NewReader(body))
		if err != nil {
			return err
		}
		answer, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			var r struct {
				PartialSuccess *struct {
					RejectedSpans json.Number `json:"rejectedSpans"`
					ErrorMessage  string      `json:"errorMessage"`
				} `json:"partialSuccess"`
			}
			if json.Unmarshal(answer, &r) == nil && r.PartialSuccess != nil &&
				(r.PartialSuccess.RejectedSpans.String() != "" && r.PartialSuccess.RejectedSpans.String() != "0" ||
					r.PartialSuccess.ErrorMessage != "") {
				return fmt.Errorf("partial success: %s", answer)
			}
			return nil
		}
		if (resp.StatusCode == 503 || resp.StatusCode == 507) && attempt < 20 {
			time.Sleep(500 * time.Millisecond)
			continue
		}
		return fmt.Errorf("status %d: %s", resp.StatusCode, answer)
	}
}

// ---------------------------------------------------------------- the slow things

// mutex: a background goroutine holds invMu ~100 ms at a time, letting go for 2 ms.
var (
	invMu     sync.Mutex
	inventory int
)

func holdInventory() {
	for {
		invMu.Lock()
		time.Sleep(slow)
		invMu.Unlock()
		time.Sleep(2 * time.Millisecond)
	}
}

func reserve() {
	invMu.Lock()
	inventory++
	invMu.Unlock()
}

// chan: a slow producer. A consumer hands it a reply channel and waits for the
// item, which the producer delivers ~100 ms later.
var queueAsk = make(chan chan int)

func produce() {
	n := 0
	for reply := range queueAsk {
		n++
		go func(reply chan int, n int) {
			time.Sleep(slow)
			reply <- n
		}(reply, n)
	}
}

func waitQueue() int {
	reply := make(chan int, 1)
	queueAsk <- reply
	return <-reply
}

// cpu: pure computation, no allocation; cpuIters is calibrated at start to ~100 ms.
var cpuIters = 1 << 24

//go:noinline
func computePrices(n int) float64 {
	x, y := 1.0, 0.5
	for i := 0; i < n; i++ {
		x = x*1.0000001 + y
		y = y*0.9999999 - float64(i&7)*1e-9
		if x > 1e9 {
			x = 1
		}
	}
	return x + y
}

var sink float64

func calibrateCPU() {
	// the fastest of a few ~25 ms runs: the machine may be busy
	n := 1 << 20
	for {
		t0 := time.Now()
		sink += computePrices(n)
		if time.Since(t0) > 10*time.Millisecond || n >= 1<<30 {
			break
		}
		n *= 2
	}
	best := time.Duration(1 << 62)
	for i := 0; i < 5; i++ {
		t0 := time.Now()
		sink += computePrices(n)
		if d := time.Since(t0); d < best {
			best = d
		}
	}
	cpuIters = int(float64(n) * float64(slow) / float64(best))
}

// alloc: the request allocates heavily while a GC cycle has a lot to mark, so
// that its allocations are charged with mark assists.
//
// Why these choices (measured on Go 1.19, GOMAXPROCS=2): with small objects most
// of the request's CPU goes to mallocgc itself (assists were ~10% of it at
// GOGC=100); pointer-free 64 KiB blocks cost little per byte to allocate, but each
// byte owes the same assist debt, so assists take most of the request at GOGC=50.
// The live heap is one chain reachable from a single pointer: marking it is
// pointer chasing that only one worker can do at a time, so an assist often finds
// no work to steal and parks ("GC assist wait") until the worker's credit pays its
// debt. Either way the time is the collector's: assist CPU or an assist wait.
type leaf struct {
	next  *leaf
	other *leaf
	pad   [4]int64
}

var ballast *leaf

// buildBallast links n objects into one chain reachable only from its head.
func buildBallast(n int) {
	var head *leaf
	for i := 0; i < n; i++ {
		l := &leaf{next: head}
		if head != nil {
			head.other = l
		}
		head = l
	}
	ballast = head
}

var (
	allocObjects = 1500
	allocSize    = 64 << 10 // bytes per object; 0: small pointer-bearing leaf objects
)

// renderPage allocates n objects of allocSize bytes (kept live briefly in a
// ring), or with allocSize 0 n small pointer-bearing objects.
//
//go:noinline
func renderPage(n int) int {
	if allocSize > 0 {
		return renderBlocks(n, allocSize)
	}
	ring := make([]*leaf, 1<<15)
	var prev *leaf
	sum := 0
	for i := 0; i < n; i++ {
		l := &leaf{other: prev}
		l.pad[0] = int64(i)
		ring[i&(len(ring)-1)] = l
		prev = ring[(i*7919)&(len(ring)-1)]
		if prev != nil {
			prev.other = nil // keep chains short: only the ring keeps objects live
			sum += int(prev.pad[0] & 1)
		}
	}
	return sum
}

//go:noinline
func renderBlocks(n, size int) int {
	var ring [64][]byte
	sum := 0
	for i := 0; i < n; i++ {
		b := make([]byte, size)
		b[i%size] = byte(i)
		ring[i&63] = b
		if old := ring[(i*7)&63]; old != nil {
			sum += int(old[0])
		}
	}
	return sum
}

// io: a local TCP peer that answers each line ~100 ms after reading it.
var peerAddr string

func startPeer() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatalf("e2e-service: peer: %v", err)
	}
	peerAddr = ln.Addr().String()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					if _, err := r.ReadString('\n'); err != nil {
						return
					}
					time.Sleep(slow)
					if _, err := c.Write([]byte("row 1\n")); err != nil {
						return
					}
				}
			}(c)
		}
	}()
}

func query() error {
	c, err := net.Dial("tcp", peerAddr)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.Write([]byte("SELECT 1\n")); err != nil {
		return err
	}
	_, err = bufio.NewReader(c).ReadString('\n')
	return err
}

// ---------------------------------------------------------------- the handler

var children = map[string]string{
	"mutex": "inventory.reserve", "chan": "queue.wait", "cpu": "price.compute", "alloc": "render",
	"io": "db.query", "sleep": "backoff", "fast": "cache.get",
}

func runKind(kind string) error {
	switch kind {
	case "mutex":
		reserve()
	case "chan":
		waitQueue()
	case "cpu":
		sink += computePrices(cpuIters)
	case "alloc":
		sink += float64(renderPage(allocObjects))
	case "io":
		return query()
	case "sleep":
		time.Sleep(slow)
	case "fast":
		sink += computePrices(cpuIters / 100)
		time.Sleep(time.Millisecond)
	}
	return nil
}

type server struct{ exp *exporter }

func labels(traceID, spanID, name string) pprof.LabelSet {
	return pprof.Labels("trace_id", traceID, "span_id", spanID, "span_name", name)
}

func (s *server) work(w http.ResponseWriter, r *http.Request) {
	kind := r.URL.Query().Get("kind")
	child, ok := children[kind]
	if !ok {
		http.Error(w, "unknown kind", http.StatusBadRequest)
		return
	}
	traceID, rootID, childID := randHex(16), randHex(8), randHex(8)
	const rootName = "GET /work"
	start := time.Now()
	var answer []byte
	var err error
	pprof.Do(r.Context(), labels(traceID, rootID, rootName), func(ctx context.Context) {
		cstart := time.Now()
		pprof.Do(ctx, labels(traceID, childID, child), func(context.Context) { err = runKind(kind) })
		cend := time.Now()
		s.exp.add(newSpan(traceID, childID, rootID, child, 1, cstart, cend, strAttr("work.kind", kind)))
		answer, _ = json.Marshal(map[string]string{"trace_id": traceID, "span_id": rootID,
			"child_span_id": childID, "child": child, "kind": kind})
	})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	} else {
		w.Header().Set("Content-Type", "application/json")
		w.Write(answer)
	}
	s.exp.add(newSpan(traceID, rootID, "", rootName, 2, start, time.Now(),
		strAttr("http.route", "/work"), strAttr("work.kind", kind)))
}

func (s *server) flush(w http.ResponseWriter, r *http.Request) {
	exported, failed := s.exp.flush()
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"exported":%d,"failed":%d}`, exported, failed)
}

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to serve on")
	service := flag.String("service", "e2e", "service.name of the spans")
	instance := flag.String("instance", "", "service.instance.id (default e2e-<pid>)")
	url := flag.String("meanwhile", os.Getenv("MEANWHILE_URL"), "meanwhiled base URL (spans go to <url>/v1/traces)")
	ballastN := flag.Int("ballast", 400_000, "objects in the pointer-rich live heap")
	gcPercent := flag.Int("gc-percent", 50, "GC percent (debug.SetGCPercent) unless $GOGC is set")
	flag.IntVar(&allocObjects, "alloc-objects", allocObjects, "objects a render request allocates")
	flag.IntVar(&allocSize, "alloc-size", allocSize, "bytes per object a render request allocates (0: small pointer-bearing objects)")
	flag.Parse()
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(2)
	}
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(*gcPercent)
	}
	if *instance == "" {
		*instance = "e2e-" + strconv.Itoa(os.Getpid())
	}
	host, _ := os.Hostname()
	exp := newExporter(*url, []attr{strAttr("service.name", *service), strAttr("service.instance.id", *instance),
		strAttr("host.name", host), strAttr("process.runtime.name", "go"),
		{Key: "process.pid", Value: map[string]string{"intValue": strconv.Itoa(os.Getpid())}}})

	calibrateCPU()
	buildBallast(*ballastN)
	startPeer()
	go holdInventory()
	go produce()
	go exp.loop()

	s := &server{exp: exp}
	http.HandleFunc("/work", s.work)
	http.HandleFunc("/flush", s.flush)
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatalf("e2e-service: %v", err)
	}
	fmt.Printf("listening addr=%s instance=%s cpu_iters=%d gomaxprocs=%d\n", ln.Addr(), *instance, cpuIters,
		runtime.GOMAXPROCS(0))
	go func() {
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, syscall.SIGTERM, syscall.SIGINT)
		<-ch
		exp.flush()
		os.Exit(0)
	}()
	log.Fatal(http.Serve(ln, nil))
}
