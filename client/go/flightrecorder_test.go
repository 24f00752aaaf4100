// Tests of the flight recorder against an httptest server in meanwhiled's
// place: which spans cause a window to be sent, how many windows, what the
// request says, the byte budget, retries and drops, and that End never waits
// for meanwhiled. Only one flight recorder can run in a process: each test
// stops its own before it returns.

//go:build go1.25

package meanwhile_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	meanwhile "github.com/meanwhile-dev/meanwhile/client/go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// ingest is a stand-in for meanwhiled's exectrace ingest.
type ingest struct {
	*httptest.Server
	mu       sync.Mutex
	reqs     []ingestReq
	statuses []int         // answers to the first requests; then 200
	after    string        // Retry-After of a non-200 answer
	hang     chan struct{} // when set, requests wait until it is closed
}

type ingestReq struct {
	at    time.Time
	path  string
	query url.Values
	auth  string
	body  []byte
}

func newIngest(t *testing.T) *ingest {
	in := &ingest{}
	in.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		in.mu.Lock()
		in.reqs = append(in.reqs, ingestReq{time.Now(), r.URL.Path, r.URL.Query(), r.Header.Get("Authorization"), body})
		status := http.StatusOK
		if len(in.reqs) <= len(in.statuses) {
			status = in.statuses[len(in.reqs)-1]
		}
		hang := in.hang
		in.mu.Unlock()
		if hang != nil {
			select {
			case <-hang:
			case <-r.Context().Done():
			}
			return
		}
		if status != http.StatusOK {
			if in.after != "" {
				w.Header().Set("Retry-After", in.after)
			}
			w.WriteHeader(status)
			_, _ = w.Write([]byte(`{"error":"busy"}`))
			return
		}
		_, _ = w.Write([]byte(`{"id":1}`))
	}))
	t.Cleanup(in.Close)
	return in
}

func (in *ingest) requests() []ingestReq {
	in.mu.Lock()
	defer in.mu.Unlock()
	return append([]ingestReq(nil), in.reqs...)
}

// startRecorder starts a flight recorder that tests can wait on quickly.
func startRecorder(t *testing.T, cfg meanwhile.FlightRecorderConfig) *meanwhile.FlightRecorder {
	t.Helper()
	if cfg.Delay == 0 {
		cfg.Delay = 50 * time.Millisecond
	}
	if cfg.RetryBackoff == 0 {
		cfg.RetryBackoff = 10 * time.Millisecond
	}
	if cfg.MinAge == 0 {
		cfg.MinAge = time.Second
	}
	r, err := meanwhile.StartFlightRecorder(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Stop)
	return r
}

// recordedTracer returns a tracer of an SDK provider with the resource of
// service "checkout", instance "i-1", wrapped with r.
func recordedTracer(t *testing.T, r *meanwhile.FlightRecorder, opts ...meanwhile.Option) trace.Tracer {
	res := resource.NewSchemaless(attribute.String("service.name", "checkout"), attribute.String("service.instance.id", "i-1"))
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()), sdktrace.WithResource(res))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return meanwhile.WrapTracerProvider(tp, append(opts, meanwhile.WithFlightRecorder(r))...).Tracer("fr_test")
}

// slowSpan starts a span and ends it after d.
func slowSpan(tr trace.Tracer, ctx context.Context, name string, d time.Duration) {
	_, sp := tr.Start(ctx, name)
	time.Sleep(d)
	sp.End()
}

// waitFor waits until cond holds, failing the test after 20 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestSlowSpansCloseTogetherOneWindow(t *testing.T) {
	in := newIngest(t)
	r := startRecorder(t, meanwhile.FlightRecorderConfig{
		Endpoint: in.URL + "/", Token: "tok", Threshold: 20 * time.Millisecond, Delay: 300 * time.Millisecond,
	})
	tr := recordedTracer(t, r)
	for range 3 {
		slowSpan(tr, context.Background(), "GET /cart", 25*time.Millisecond)
	}
	waitFor(t, "a window sent", func() bool { return r.Stats().Sent == 1 })
	// The writer could write a second window only after another Delay.
	time.Sleep(3 * 300 * time.Millisecond)
	reqs := in.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	q := reqs[0]
	if q.path != "/api/v1/ingest/exectrace" {
		t.Errorf("path %q", q.path)
	}
	ps, err := strconv.ParseInt(q.query.Get("process_start"), 10, 64)
	if err != nil || ps <= 0 || ps > time.Now().UnixNano() {
		t.Errorf("process_start %q", q.query.Get("process_start"))
	}
	want := url.Values{"service": {"checkout"}, "instance": {"i-1"}, "trigger": {"slow_span"}, "process_start": {q.query.Get("process_start")}}
	if q.query.Encode() != want.Encode() {
		t.Errorf("query %q, want %q", q.query.Encode(), want.Encode())
	}
	if q.auth != "Bearer tok" {
		t.Errorf("Authorization %q", q.auth)
	}
	if !bytes.HasPrefix(q.body, []byte("go 1.")) || !bytes.Contains(q.body[:16], []byte(" trace\x00")) {
		t.Errorf("body does not start with an execution trace header: %q", q.body[:min(16, len(q.body))])
	}
	s := r.Stats()
	if s.SlowSpans != 3 || s.Covered != 2 || s.Windows != 1 || s.SentBytes != uint64(len(q.body)) || s.Bytes != s.SentBytes || s.Dropped != 0 {
		t.Errorf("stats %+v", s)
	}

	// A slow span after that write gets a window of its own.
	slowSpan(tr, context.Background(), "GET /cart", 25*time.Millisecond)
	waitFor(t, "a second window", func() bool { return r.Stats().Sent == 2 })
}

// A slow span that ends after a write waits for half a window (MinAge/2)
// after it: windows overlap by half at most.
func TestWindowsHalfAWindowApart(t *testing.T) {
	in := newIngest(t)
	r := startRecorder(t, meanwhile.FlightRecorderConfig{
		Endpoint: in.URL, Threshold: 20 * time.Millisecond, Delay: 10 * time.Millisecond, MinAge: 2 * time.Second,
	})
	tr := recordedTracer(t, r)
	slowSpan(tr, context.Background(), "GET /cart", 25*time.Millisecond)
	waitFor(t, "a window", func() bool { return r.Stats().Sent == 1 })
	slowSpan(tr, context.Background(), "GET /cart", 25*time.Millisecond)
	waitFor(t, "a second window", func() bool { return r.Stats().Sent == 2 })
	reqs := in.requests()
	// The writes are 1 s apart at least; the arrivals less the first send's
	// time. Without the wait they are Delay (10 ms) apart.
	if gap := reqs[1].at.Sub(reqs[0].at); gap < 500*time.Millisecond {
		t.Errorf("second window %v after the first, want MinAge/2 = 1s", gap)
	}
}

func TestFastSpansNoWindow(t *testing.T) {
	in := newIngest(t)
	for _, cfg := range []meanwhile.FlightRecorderConfig{
		{Endpoint: in.URL, Threshold: time.Second},
		{Endpoint: in.URL}, // p99 with the 20 ms floor
	} {
		r := startRecorder(t, cfg)
		tr := recordedTracer(t, r)
		for range 1000 {
			slowSpan(tr, context.Background(), "fast", 0)
		}
		time.Sleep(200 * time.Millisecond) // 4 Delays
		if s := r.Stats(); s != (meanwhile.FlightRecorderStats{}) {
			t.Errorf("threshold %v: stats %+v, want none", cfg.Threshold, s)
		}
		r.Stop()
	}
	if n := len(in.requests()); n != 0 {
		t.Errorf("%d requests for fast spans", n)
	}
}

func TestLocalRootsOnlyJudgesRoots(t *testing.T) {
	in := newIngest(t)
	r := startRecorder(t, meanwhile.FlightRecorderConfig{Endpoint: in.URL, Threshold: 20 * time.Millisecond, LocalRootsOnly: true})
	tr := recordedTracer(t, r)
	ctx, root := tr.Start(context.Background(), "root")
	slowSpan(tr, ctx, "child", 25*time.Millisecond)
	if s := r.Stats(); s.SlowSpans != 0 {
		t.Errorf("slow child judged: %+v", s)
	}
	root.End()
	if s := r.Stats(); s.SlowSpans != 1 {
		t.Errorf("slow root not judged: %+v", s)
	}
	waitFor(t, "the root's window", func() bool { return r.Stats().Sent == 1 })
}

func TestByteBudget(t *testing.T) {
	in := newIngest(t)
	r := startRecorder(t, meanwhile.FlightRecorderConfig{Endpoint: in.URL, Threshold: 20 * time.Millisecond, BytesPerMinute: 100})
	tr := recordedTracer(t, r)
	slowSpan(tr, context.Background(), "slow", 25*time.Millisecond)
	waitFor(t, "a window over the budget", func() bool { return r.Stats().OverBudget == 1 })
	if s := r.Stats(); s.Windows != 0 || s.Sent != 0 {
		t.Errorf("stats %+v", s)
	}
	if n := len(in.requests()); n != 0 {
		t.Errorf("%d requests over the budget", n)
	}
}

func TestBusyServerRetriedThenDropped(t *testing.T) {
	in := newIngest(t)
	in.statuses = []int{503, 503, 503}
	r := startRecorder(t, meanwhile.FlightRecorderConfig{Endpoint: in.URL, Threshold: 20 * time.Millisecond, Retries: 2})
	tr := recordedTracer(t, r)
	slowSpan(tr, context.Background(), "slow", 25*time.Millisecond)
	waitFor(t, "a dropped window", func() bool { return r.Stats().Dropped == 1 })
	if s := r.Stats(); s.Retries != 2 || s.Sent != 0 || s.Windows != 1 {
		t.Errorf("stats %+v", s)
	}
	if n := len(in.requests()); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	in := newIngest(t)
	in.statuses, in.after = []int{429}, "1"
	r := startRecorder(t, meanwhile.FlightRecorderConfig{Endpoint: in.URL, Threshold: 20 * time.Millisecond})
	tr := recordedTracer(t, r)
	slowSpan(tr, context.Background(), "slow", 25*time.Millisecond)
	waitFor(t, "the window sent again", func() bool { return r.Stats().Sent == 1 })
	reqs := in.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 2", len(reqs))
	}
	// RetryBackoff is 10 ms: only Retry-After makes the wait a second.
	if gap := reqs[1].at.Sub(reqs[0].at); gap < time.Second {
		t.Errorf("sent again after %v, Retry-After said 1 s", gap)
	}
	if !bytes.Equal(reqs[0].body, reqs[1].body) {
		t.Error("the retry sent other bytes")
	}
}

func TestRefusedNotRetried(t *testing.T) {
	in := newIngest(t)
	in.statuses = []int{400}
	r := startRecorder(t, meanwhile.FlightRecorderConfig{Endpoint: in.URL, Threshold: 20 * time.Millisecond})
	tr := recordedTracer(t, r)
	slowSpan(tr, context.Background(), "slow", 25*time.Millisecond)
	waitFor(t, "a dropped window", func() bool { return r.Stats().Dropped == 1 })
	if s := r.Stats(); s.Retries != 0 || len(in.requests()) != 1 {
		t.Errorf("stats %+v, %d requests", s, len(in.requests()))
	}
}

func TestServerDownDropped(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	r := startRecorder(t, meanwhile.FlightRecorderConfig{Endpoint: "http://" + addr, Threshold: 20 * time.Millisecond, Retries: 1})
	tr := recordedTracer(t, r)
	slowSpan(tr, context.Background(), "slow", 25*time.Millisecond)
	waitFor(t, "a dropped window", func() bool { return r.Stats().Dropped == 1 })
	if s := r.Stats(); s.Retries != 1 || s.Sent != 0 {
		t.Errorf("stats %+v", s)
	}
}

// While meanwhiled hangs, spans end as fast as ever, windows that find the
// queue full are dropped, and Stop does not wait for meanwhiled.
func TestEndNeverBlocks(t *testing.T) {
	in := newIngest(t)
	in.hang = make(chan struct{})
	defer close(in.hang)
	r := startRecorder(t, meanwhile.FlightRecorderConfig{Endpoint: in.URL, Threshold: 20 * time.Millisecond, Delay: 10 * time.Millisecond})
	tr := recordedTracer(t, r)
	var worst time.Duration
	for i := range 5 {
		_, sp := tr.Start(context.Background(), "slow")
		time.Sleep(25 * time.Millisecond)
		t0 := time.Now()
		sp.End()
		worst = max(worst, time.Since(t0))
		for range 200 {
			_, sp := tr.Start(context.Background(), "fast")
			t0 := time.Now()
			sp.End()
			worst = max(worst, time.Since(t0))
		}
		// the next slow span ends after this window's write
		waitFor(t, "window "+strconv.Itoa(i+1), func() bool { return r.Stats().Windows == uint64(i+1) })
	}
	// One window hangs in the request, one waits, the rest found the queue full.
	if s := r.Stats(); s.Windows != 5 || s.Dropped != 3 || s.Sent != 0 {
		t.Errorf("stats %+v", s)
	}
	if worst > time.Second { // an End is µs; one that waited for meanwhiled would never return
		t.Errorf("an End took %v while meanwhiled hung", worst)
	}
	t0 := time.Now()
	r.Stop()
	if d := time.Since(t0); d > 5*time.Second {
		t.Errorf("Stop took %v while meanwhiled hung", d)
	}
	if s := r.Stats(); s.Dropped != 5 {
		t.Errorf("after Stop: stats %+v, want the 2 windows held dropped too", s)
	}
}

func TestOneRecorderAtATime(t *testing.T) {
	in := newIngest(t)
	startRecorder(t, meanwhile.FlightRecorderConfig{Endpoint: in.URL})
	if _, err := meanwhile.StartFlightRecorder(meanwhile.FlightRecorderConfig{Endpoint: in.URL}); err == nil {
		t.Error("a second flight recorder started")
	}
}

func TestBadEndpoint(t *testing.T) {
	for _, ep := range []string{"", "127.0.0.1:4318", "ftp://x", "http://"} {
		if r, err := meanwhile.StartFlightRecorder(meanwhile.FlightRecorderConfig{Endpoint: ep}); err == nil {
			r.Stop()
			t.Errorf("endpoint %q accepted", ep)
		}
	}
}

// Service from the config wins over the resource's; the instance still comes
// from the resource.
func TestServiceFromConfig(t *testing.T) {
	in := newIngest(t)
	r := startRecorder(t, meanwhile.FlightRecorderConfig{Endpoint: in.URL, Threshold: 20 * time.Millisecond, Service: "shop",
		ProcessStart: time.Unix(1700000000, 5)})
	tr := recordedTracer(t, r)
	slowSpan(tr, context.Background(), "slow", 25*time.Millisecond)
	waitFor(t, "a window", func() bool { return r.Stats().Sent == 1 })
	q := in.requests()[0].query
	if q.Get("service") != "shop" || q.Get("instance") != "i-1" || q.Get("process_start") != "1700000000000000005" {
		t.Errorf("query %q", q.Encode())
	}
}
