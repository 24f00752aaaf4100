// Command gen writes the inputs of bench-runtime (see ../README.md): goroutine
// dumps (debug=2, debug=1 and the debug=0 pprof profile) of a process holding
// N goroutines blocked the ways a Go service's goroutines usually are, and a
// CPU profile of S seconds while a few goroutines do labelled work.
//
// The blocked goroutines come from ~15 kinds of waiting (channel receive and
// send, select, nil channel, select{}, sync.Mutex, sync.RWMutex, sync.Cond,
// sync.WaitGroup, time.Sleep, tickers, context.Done, a read on a TCP
// connection to itself, a read on a pipe, and a real net/http server and
// client with requests in flight and idle keep-alive connections), each
// reached through a path of 2-25 application layers, about 45 distinct stacks
// in all. The handlers of the requests in flight (and the goroutines they
// fan out to) run under pprof labels span_id/trace_id/http.route, a new span
// per request, as a traced service's do.
//
// Every file is written to NAME.tmp and renamed, and "done" is written last:
// a directory with "done" is complete.
package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

var (
	flagN        = flag.Int("n", 10000, "goroutines in the dumps (blocked ones plus the CPU burners)")
	flagSeconds  = flag.Float64("cpu-seconds", 10, "length of the CPU profile in seconds")
	flagOut      = flag.String("out", ".", "directory to write the files to")
	flagBurners  = flag.Int("burners", 4, "goroutines doing labelled CPU work during the profile")
	flagInflight = flag.Float64("inflight", 0.25, "share of the goroutines that belong to HTTP requests in flight (labelled)")
	flagSeed     = flag.Int64("seed", 1, "seed for the stack shapes and label values")
)

// ---- application layers -----------------------------------------------------

type leaf func()

// A blocked goroutine's stack goes through a path of these layers (each one
// calls the next of the path, the last calls the leaf), so that stacks differ
// in depth and frames the way a service's stacks do.
var layers [8]func(p []uint8, f leaf)

func init() {
	layers = [8]func([]uint8, leaf){serveRoute, authenticate, withDeadline, retrying, cacheLookup,
		decodeRequest, queryStore, walkTree}
}

func call(p []uint8, f leaf) {
	if len(p) == 0 {
		f()
		return
	}
	layers[p[0]](p[1:], f)
}

//go:noinline
func serveRoute(p []uint8, f leaf) {
	if len(p) == 0 {
		f()
		return
	}
	layers[p[0]](p[1:], f)
}

//go:noinline
func authenticate(p []uint8, f leaf) {
	if len(p) == 0 {
		f()
		return
	}
	layers[p[0]](p[1:], f)
}

//go:noinline
func withDeadline(p []uint8, f leaf) {
	if len(p) == 0 {
		f()
		return
	}
	layers[p[0]](p[1:], f)
}

//go:noinline
func retrying(p []uint8, f leaf) {
	defer func() {
		if r := recover(); r != nil {
			panic(r)
		}
	}()
	if len(p) == 0 {
		f()
		return
	}
	layers[p[0]](p[1:], f)
}

//go:noinline
func cacheLookup(p []uint8, f leaf) {
	if len(p) == 0 {
		f()
		return
	}
	layers[p[0]](p[1:], f)
}

//go:noinline
func decodeRequest(p []uint8, f leaf) {
	if len(p) == 0 {
		f()
		return
	}
	layers[p[0]](p[1:], f)
}

//go:noinline
func queryStore(p []uint8, f leaf) {
	if len(p) == 0 {
		f()
		return
	}
	layers[p[0]](p[1:], f)
}

//go:noinline
func walkTree(p []uint8, f leaf) {
	if len(p) == 0 {
		f()
		return
	}
	layers[p[0]](p[1:], f)
}

// ---- ids ---------------------------------------------------------------------

var (
	idMu  sync.Mutex
	idRng *rand.Rand
)

func newID(n int) string {
	b := make([]byte, n)
	idMu.Lock()
	idRng.Read(b)
	idMu.Unlock()
	return hex.EncodeToString(b)
}

// ---- the world the goroutines wait on ---------------------------------------

type world struct {
	ctx     context.Context // cancelled only at exit
	never   chan struct{}   // never closed
	full    chan int        // buffered and full
	jobs    chan func()     // no job ever comes
	mus     [4]sync.Mutex   // each held by a holder goroutine
	rw      sync.RWMutex    // write-held
	condMu  sync.Mutex
	cond    *sync.Cond
	wg      sync.WaitGroup // never done
	parked  int64          // goroutines about to block (atomic)
	arrived int64          // /fast requests waiting for release (atomic)
	release chan struct{}  // closed to let the /fast requests finish

	base           string // http://127.0.0.1:port
	inflightClient *http.Client
	idleClient     *http.Client
	streamAddr     string
	keep           []*os.File // pipe ends: the finalizer would close them
	keepMu         sync.Mutex
}

func (w *world) park() { atomic.AddInt64(&w.parked, 1) }

// component: one way of waiting. A unit is what start starts: cost
// goroutines, fds file descriptors. Variant v of a component reaches its
// wait through paths[v].
type component struct {
	name    string
	weight  float64
	cost    int
	fds     int
	paths   [][]uint8
	parks   int // park() calls per unit
	start   func(w *world, v int, p []uint8)
	units   int
	started int
}

var routes = []string{"/api/orders/{id}", "/api/cart", "/api/checkout", "/api/search", "/api/users/{id}", "/api/inventory"}

func (w *world) handleSlow(rw http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	v, _ := strconv.Atoi(q.Get("v"))
	p, _ := hex.DecodeString(q.Get("p"))
	lbl := pprof.Labels("span_id", newID(8), "trace_id", newID(16), "http.route", routes[v%len(routes)])
	pprof.Do(r.Context(), lbl, func(ctx context.Context) {
		call(p, func() { w.inflightWait(ctx, v) })
	})
	io.WriteString(rw, "late\n")
}

// inflightWait: a handler fans out to v%3 helpers (which inherit its labels),
// then waits on something, by variant.
func (w *world) inflightWait(ctx context.Context, v int) {
	var children sync.WaitGroup
	for i := 0; i < v%3; i++ {
		children.Add(1)
		go fetchPart(ctx, w, &children)
	}
	w.park()
	switch v % 6 {
	case 0: // waiting for a pooled resource
		<-w.never
	case 1: // contended lock
		w.mus[0].Lock()
	case 2:
		w.condMu.Lock()
		for {
			w.cond.Wait()
		}
	case 3: // backing off before a retry
		time.Sleep(time.Hour)
	case 4: // waiting for the fan-out
		children.Add(1)
		children.Wait()
	case 5:
		t := time.NewTimer(time.Hour)
		select {
		case <-t.C:
		case <-ctx.Done():
		case <-w.never:
		}
	}
}

//go:noinline
func fetchPart(ctx context.Context, w *world, wg *sync.WaitGroup) {
	defer wg.Done()
	w.park()
	select {
	case <-ctx.Done():
	case <-w.never:
	}
}

func (w *world) handleFast(rw http.ResponseWriter, r *http.Request) {
	atomic.AddInt64(&w.arrived, 1)
	<-w.release
	io.WriteString(rw, "ok\n")
}

func (w *world) serveStreams(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			log.Fatalf("accept: %v", err)
		}
		go w.serveStream(c)
	}
}

//go:noinline
func (w *world) serveStream(c net.Conn) {
	r := bufio.NewReader(c)
	w.park()
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		c.Write([]byte(line))
	}
}

func components() []*component {
	return []*component{
		// a unit: the client's goroutine and its transport's two, the server's
		// connection (running the handler) and its background read, and the
		// handler's v%3 helpers; the handler and the helpers park()
		{name: "http_inflight", cost: 6, fds: 2, start: func(w *world, v int, p []uint8) {
			go func() {
				call(p[:len(p)/3], func() {
					url := fmt.Sprintf("%s/slow?v=%d&p=%s", w.base, v, hex.EncodeToString(p))
					resp, err := w.inflightClient.Get(url)
					if err == nil {
						resp.Body.Close()
					}
				})
			}()
		}},
		{name: "http_idle", weight: 0.06, cost: 3, fds: 2, parks: 1, start: func(w *world, v int, p []uint8) {
			go func() {
				resp, err := w.idleClient.Get(w.base + "/fast")
				if err != nil {
					log.Fatalf("GET /fast: %v", err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				w.park()
			}()
		}},
		{name: "tcp_stream", weight: 0.05, cost: 2, fds: 2, parks: 2, start: func(w *world, v int, p []uint8) {
			c, err := net.Dial("tcp", w.streamAddr)
			if err != nil {
				log.Fatalf("dial: %v", err)
			}
			go call(p, func() {
				r := bufio.NewReader(c)
				fmt.Fprintf(c, "SUBSCRIBE events.%d\r", v) // no newline: the server keeps waiting too
				w.park()
				r.ReadString('\n')
			})
		}},
		{name: "pipe_read", weight: 0.02, cost: 1, fds: 2, parks: 1, start: func(w *world, v int, p []uint8) {
			r, wr, err := os.Pipe()
			if err != nil {
				log.Fatalf("pipe: %v", err)
			}
			w.keepMu.Lock()
			w.keep = append(w.keep, r, wr)
			w.keepMu.Unlock()
			go call(p, func() {
				buf := make([]byte, 4096)
				w.park()
				r.Read(buf)
			})
		}},
		{name: "worker_pool", weight: 0.15, cost: 1, parks: 1, start: func(w *world, v int, p []uint8) {
			go call(p, func() {
				w.park()
				for job := range w.jobs {
					job()
				}
			})
		}},
		{name: "producer", weight: 0.04, cost: 1, parks: 1, start: func(w *world, v int, p []uint8) {
			go call(p, func() {
				w.park()
				w.full <- v
			})
		}},
		{name: "ticker", weight: 0.08, cost: 1, parks: 1, start: func(w *world, v int, p []uint8) {
			go call(p, func() {
				t := time.NewTicker(time.Hour)
				w.park()
				for {
					select {
					case <-t.C:
					case <-w.ctx.Done():
						return
					}
				}
			})
		}},
		{name: "mutex", weight: 0.08, cost: 1, parks: 1, start: func(w *world, v int, p []uint8) {
			go call(p, func() {
				w.park()
				w.mus[v%len(w.mus)].Lock()
			})
		}},
		{name: "rwmutex", weight: 0.04, cost: 1, parks: 1, start: func(w *world, v int, p []uint8) {
			go call(p, func() {
				w.park()
				w.rw.RLock()
			})
		}},
		{name: "cond", weight: 0.06, cost: 1, parks: 1, start: func(w *world, v int, p []uint8) {
			go call(p, func() {
				w.condMu.Lock()
				w.park()
				for {
					w.cond.Wait()
				}
			})
		}},
		{name: "sleep", weight: 0.06, cost: 1, parks: 1, start: func(w *world, v int, p []uint8) {
			go call(p, func() {
				w.park()
				for backoff := time.Hour; ; backoff *= 2 {
					time.Sleep(backoff)
				}
			})
		}},
		{name: "waitgroup", weight: 0.04, cost: 1, parks: 1, start: func(w *world, v int, p []uint8) {
			go call(p, func() {
				w.park()
				w.wg.Wait()
			})
		}},
		{name: "nil_chan", weight: 0.01, cost: 1, parks: 1, start: func(w *world, v int, p []uint8) {
			go call(p, func() {
				var c chan int
				w.park()
				<-c
			})
		}},
		{name: "select_none", weight: 0.01, cost: 1, parks: 1, start: func(w *world, v int, p []uint8) {
			go call(p, func() {
				w.park()
				select {}
			})
		}},
		{name: "ctx_done", weight: 0.05, cost: 1, parks: 1, start: func(w *world, v int, p []uint8) {
			go call(p, func() {
				w.park()
				<-w.ctx.Done()
			})
		}},
	}
}

var variants = map[string]int{"http_inflight": 6, "tcp_stream": 2, "worker_pool": 4, "producer": 2, "ticker": 3,
	"mutex": 3, "rwmutex": 2, "cond": 3, "sleep": 3, "waitgroup": 2, "ctx_done": 3}

// ---- CPU work ---------------------------------------------------------------

type record struct {
	ID       int64             `json:"id"`
	Name     string            `json:"name"`
	Price    float64           `json:"price"`
	Tags     []string          `json:"tags"`
	Attrs    map[string]string `json:"attrs"`
	Created  time.Time         `json:"created"`
	Quantity int               `json:"quantity"`
}

func makeRecords(r *rand.Rand, n int) []record {
	out := make([]record, n)
	for i := range out {
		out[i] = record{ID: r.Int63(), Name: "item-" + strconv.Itoa(r.Intn(100000)), Price: r.Float64() * 100,
			Tags: []string{"a", "bb", "ccc"}[:1+r.Intn(3)], Attrs: map[string]string{"color": "red", "size": "L"},
			Created: time.Unix(1700000000+r.Int63n(1e6), 0).UTC(), Quantity: r.Intn(50)}
	}
	return out
}

var (
	jsonBlob []byte
	logLines []string
	logRe    = regexp.MustCompile(`(?i)user=(\w+) .*status=(5\d\d|4\d\d) latency=(\d+)ms`)
	sink     int64
)

func prepareWork(r *rand.Rand) {
	jsonBlob, _ = json.Marshal(makeRecords(r, 400))
	for i := 0; i < 2000; i++ {
		logLines = append(logLines, fmt.Sprintf("ts=%d level=info user=u%d path=/api/x status=%d latency=%dms",
			i, r.Intn(500), 200+r.Intn(4)*100+r.Intn(5), r.Intn(900)))
	}
}

//go:noinline
func renderJSON(r *rand.Rand) {
	b, _ := json.Marshal(makeRecords(r, 300))
	sink += int64(len(b))
}

//go:noinline
func parseJSON(r *rand.Rand) {
	var out []record
	json.Unmarshal(jsonBlob, &out)
	sink += int64(len(out))
}

//go:noinline
func hashBlobs(r *rand.Rand) {
	buf := make([]byte, 256<<10)
	r.Read(buf)
	s := sha256.Sum256(buf)
	sink += int64(s[0])
}

//go:noinline
func sortRows(r *rand.Rand) {
	rows := makeRecords(r, 5000)
	sort.Slice(rows, func(i, j int) bool { return rows[i].Price < rows[j].Price })
	sink += rows[0].ID
}

//go:noinline
func matchLogs(r *rand.Rand) {
	n := 0
	for _, l := range logLines[:500] {
		if logRe.MatchString(l) {
			n++
		}
	}
	sink += int64(n)
}

//go:noinline
func compressBody(r *rand.Rand) {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	for i := 0; i < 8; i++ {
		zw.Write(jsonBlob)
	}
	zw.Close()
	sink += int64(b.Len())
}

//go:noinline
func formatReport(r *rand.Rand) {
	var sb strings.Builder
	for i := 0; i < 20000; i++ {
		sb.WriteString(strconv.FormatFloat(r.Float64()*1000, 'f', 2, 64))
		sb.WriteByte(',')
	}
	sink += int64(sb.Len())
}

//go:noinline
func buildIndex(r *rand.Rand) {
	m := make(map[string]int, 1024)
	for i := 0; i < 30000; i++ {
		m["k"+strconv.Itoa(r.Intn(50000))]++
	}
	sink += int64(len(m))
}

type endpoint struct {
	route string
	path  []uint8
	work  func(*rand.Rand)
}

func burn(ctx context.Context, id int, eps []endpoint, stop *int32, done *sync.WaitGroup) {
	defer done.Done()
	r := rand.New(rand.NewSource(*flagSeed*1000 + int64(id)))
	for atomic.LoadInt32(stop) == 0 {
		ep := eps[r.Intn(len(eps))]
		lbl := pprof.Labels("span_id", newID(8), "trace_id", newID(16), "http.route", ep.route)
		pprof.Do(ctx, lbl, func(ctx context.Context) {
			call(ep.path, func() { ep.work(r) })
		})
	}
}

// ---- main --------------------------------------------------------------------

func writeFile(dir, name string, f func(io.Writer) error) {
	tmp := filepath.Join(dir, name+".tmp")
	fh, err := os.Create(tmp)
	if err != nil {
		log.Fatal(err)
	}
	bw := bufio.NewWriterSize(fh, 1<<20)
	if err := f(bw); err != nil {
		log.Fatalf("%s: %v", name, err)
	}
	if err := bw.Flush(); err != nil {
		log.Fatal(err)
	}
	if err := fh.Close(); err != nil {
		log.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		log.Fatal(err)
	}
}

func randPath(r *rand.Rand, min, max int) []uint8 {
	p := make([]uint8, min+r.Intn(max-min+1))
	for i := range p {
		p[i] = uint8(r.Intn(len(layers)))
	}
	return p
}

func raiseFileLimit() uint64 {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 1024
	}
	if rl.Cur < rl.Max {
		rl.Cur = rl.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl)
		syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl)
	}
	return rl.Cur
}

func waitFor(what string, cond func() bool) {
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			log.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("gen: ")
	flag.Parse()
	if *flagN < 100 || *flagSeconds <= 0 {
		log.Fatal("-n must be at least 100 and -cpu-seconds positive")
	}
	if err := os.MkdirAll(*flagOut, 0o755); err != nil {
		log.Fatal(err)
	}
	os.Remove(filepath.Join(*flagOut, "done"))
	idRng = rand.New(rand.NewSource(*flagSeed))
	shape := rand.New(rand.NewSource(*flagSeed ^ 0x5eed))
	fdLimit := raiseFileLimit()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := &world{ctx: ctx, never: make(chan struct{}), full: make(chan int, 1),
		jobs: make(chan func()), release: make(chan struct{})}
	w.full <- 0
	w.cond = sync.NewCond(&w.condMu)
	w.wg.Add(1)
	w.rw.Lock()
	for i := range w.mus {
		w.mus[i].Lock()
	}

	// the HTTP server and clients, and the raw TCP service
	mux := http.NewServeMux()
	mux.HandleFunc("/slow", w.handleSlow)
	mux.HandleFunc("/fast", w.handleFast)
	hl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go (&http.Server{Handler: mux}).Serve(hl)
	w.base = "http://" + hl.Addr().String()
	w.inflightClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1 << 20, DisableCompression: true}}
	w.idleClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1 << 20, IdleConnTimeout: time.Hour}}
	sl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	w.streamAddr = sl.Addr().String()
	go w.serveStreams(sl)

	// budget: the in-flight share first, the others by weight
	comps := components()
	comps[0].weight = *flagInflight
	total := 0.0
	for _, c := range comps {
		total += c.weight
	}
	budget := *flagN - *flagBurners - 16 // the runtime's own, main, servers
	fdBudget := int(fdLimit) - 256
	for _, c := range comps {
		nv := variants[c.name]
		if nv == 0 {
			nv = 1
		}
		for v := 0; v < nv; v++ {
			c.paths = append(c.paths, randPath(shape, 2, 25))
		}
		c.units = int(float64(budget) * c.weight / total / float64(c.cost))
		if c.fds > 0 && c.units*c.fds > fdBudget {
			c.units = fdBudget / c.fds
		}
		fdBudget -= c.units * c.fds
	}

	startBase := runtime.NumGoroutine()
	expect := int64(0)
	for _, c := range comps {
		for i := 0; i < c.units; i++ {
			v := i % len(c.paths)
			c.start(w, v, c.paths[v])
			if c.name == "http_inflight" {
				expect += int64(1 + v%3)
			} else {
				expect += int64(c.parks)
			}
			c.started++
		}
		if c.name == "http_inflight" {
			// all in flight (each on its own connection) before the idle ones dial
			waitFor("the requests in flight", func() bool { return atomic.LoadInt64(&w.parked) >= expect })
		}
		if c.name == "http_idle" {
			waitFor("the /fast requests", func() bool { return atomic.LoadInt64(&w.arrived) >= int64(c.units) })
			close(w.release)
		}
	}
	waitFor("the goroutines to block", func() bool { return atomic.LoadInt64(&w.parked) >= expect })
	// top up to N with pool workers, the estimate of what a unit costs being rough
	pool := comps[4]
	for i, deficit := 0, *flagN-*flagBurners-runtime.NumGoroutine(); i < deficit; i++ {
		v := pool.started % len(pool.paths)
		pool.start(w, v, pool.paths[v])
		pool.started++
		expect++
	}
	waitFor("the pool workers", func() bool { return atomic.LoadInt64(&w.parked) >= expect })
	time.Sleep(200 * time.Millisecond) // from "about to block" to blocked
	stacks := 0
	for _, c := range comps {
		stacks += len(c.paths)
		log.Printf("%-14s %5d units x %d goroutines (%d paths)", c.name, c.started, c.cost, len(c.paths))
	}
	log.Printf("%d goroutines started (%d before), %d stack variants", runtime.NumGoroutine()-startBase, startBase, stacks)

	// the CPU profile, with the dumps taken early in it (the burners show as running)
	prepareWork(rand.New(rand.NewSource(*flagSeed)))
	eps := []endpoint{
		{"/api/orders/{id}", randPath(shape, 3, 12), renderJSON}, {"/api/cart", randPath(shape, 3, 12), parseJSON},
		{"/api/checkout", randPath(shape, 3, 12), hashBlobs}, {"/api/search", randPath(shape, 3, 12), sortRows},
		{"/api/logs", randPath(shape, 3, 12), matchLogs}, {"/api/export", randPath(shape, 3, 12), compressBody},
		{"/api/report", randPath(shape, 3, 12), formatReport}, {"/api/index", randPath(shape, 3, 12), buildIndex},
	}
	cpuTmp := filepath.Join(*flagOut, "cpu.pb.gz.tmp")
	cpuFile, err := os.Create(cpuTmp)
	if err != nil {
		log.Fatal(err)
	}
	t0 := time.Now()
	if err := pprof.StartCPUProfile(cpuFile); err != nil {
		log.Fatal(err)
	}
	var stop int32
	var burners sync.WaitGroup
	for i := 0; i < *flagBurners; i++ {
		burners.Add(1)
		go burn(context.Background(), i, eps, &stop, &burners)
	}
	time.Sleep(100 * time.Millisecond)
	n := runtime.NumGoroutine()
	gp := pprof.Lookup("goroutine")
	writeFile(*flagOut, "goroutine-debug2.txt", func(o io.Writer) error { return gp.WriteTo(o, 2) })
	writeFile(*flagOut, "goroutine-debug1.txt", func(o io.Writer) error { return gp.WriteTo(o, 1) })
	writeFile(*flagOut, "goroutine-debug0.pb.gz", func(o io.Writer) error { return gp.WriteTo(o, 0) })
	time.Sleep(time.Duration(*flagSeconds*float64(time.Second)) - time.Since(t0))
	atomic.StoreInt32(&stop, 1)
	burners.Wait()
	pprof.StopCPUProfile()
	if err := cpuFile.Close(); err != nil {
		log.Fatal(err)
	}
	if err := os.Rename(cpuTmp, filepath.Join(*flagOut, "cpu.pb.gz")); err != nil {
		log.Fatal(err)
	}
	writeFile(*flagOut, "gen.txt", func(o io.Writer) error {
		_, err := fmt.Fprintf(o, "goroutines %d\nn %d\ncpu_seconds %g\nburners %d\nstack_variants %d\ngo %s\n",
			n, *flagN, *flagSeconds, *flagBurners, stacks, runtime.Version())
		return err
	})
	writeFile(*flagOut, "done", func(o io.Writer) error { return nil })
	log.Printf("%d goroutines dumped, CPU profile of %.1f s, in %s", n, time.Since(t0).Seconds(), *flagOut)
	os.Exit(0)
}
