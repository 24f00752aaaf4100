// The flight recorder: the runtime keeps the last seconds of execution trace in
// memory (runtime/trace.FlightRecorder, Go 1.25 and later), and when a span
// ends slower than its threshold this file writes that window and sends it to
// meanwhiled (POST /api/v1/ingest/exectrace, docs/EXECTRACE.md), so that the
// slow span's goroutines can be read back event by event.
//
// A span's End only judges its duration and, for a slow span, wakes the
// writer (a channel send that never waits). Two goroutines do the rest: the
// writer waits Delay after a slow span, writes the window into memory within
// the byte budget and queues it; the sender posts the queued window and
// retries while meanwhiled is busy or away. The writer must not wait behind a
// sender stuck on a hanging meanwhiled, or it would miss the window of the
// next slow span.

package meanwhile

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/sdk/resource"
	"go.opentelemetry.io/otel/trace"
)

// epoch is when this package was initialised: the zero of now(), and the
// default process start.
var epoch = time.Now()

// now is the monotonic time since epoch, in ns.
func now() int64 { return int64(time.Since(epoch)) }

// FlightRecorderConfig configures [StartFlightRecorder]. Only Endpoint is
// required; a zero field takes the default its comment gives.
type FlightRecorderConfig struct {
	// Endpoint is meanwhiled's base URL, such as "http://127.0.0.1:4318".
	// Windows go to Endpoint + "/api/v1/ingest/exectrace".
	Endpoint string
	// Token, when set, is sent as "Authorization: Bearer <Token>": an ingest
	// token of meanwhiled (docs/SECURITY.md).
	Token string

	// Service and Instance name this process to meanwhiled. Empty: the
	// service.name and service.instance.id of the resource of the spans (when
	// the provider is the OpenTelemetry SDK's), else OTEL_SERVICE_NAME, else
	// the executable's name; no instance.
	Service, Instance string
	// ProcessStart is sent as process_start. Zero: the time this package was
	// initialised, a few ms after the process started.
	ProcessStart time.Time

	// MinAge and MaxBytes size the window, as in
	// runtime/trace.FlightRecorderConfig: at least MinAge of trace (default
	// 10 s), unless that is more than MaxBytes (default 10 MiB).
	MinAge   time.Duration
	MaxBytes uint64

	// Threshold, when set, makes every span that takes longer slow, whatever
	// its name. Zero: a span is slow when it takes longer than the running p99
	// of the last 256 spans of its name (once there have been 128) and longer
	// than Floor.
	Threshold time.Duration
	// Floor is the least duration of a slow span when Threshold is not set.
	// Default 20 ms.
	Floor time.Duration
	// LocalRootsOnly judges only local roots: spans with no parent in this
	// process (a request's server span). Other spans are not timed.
	LocalRootsOnly bool

	// Delay is the wait between a slow span's end and the write of the
	// window, so that the window also holds the spans that end just after it.
	// A slow span that ended before a write began is in that window and
	// causes no new write; one that ends later waits, besides, until half of
	// MinAge has passed since that write, so that windows overlap by half at
	// most (if MaxBytes cuts the window to less than MinAge/2, such a span's
	// start may be out of it). Default 1 s.
	Delay time.Duration
	// BytesPerMinute bounds the bytes of the windows written, as a bucket of
	// a minute's bytes that refills continuously. A window over the budget is
	// not sent (Stats().OverBudget). Default 60 MiB; negative: no bound.
	BytesPerMinute int64

	// Retries is how many times a window is sent again when meanwhiled is
	// busy (429, 503, 5xx) or cannot be reached, before it is dropped.
	// Default 4; negative: none.
	Retries int
	// RetryBackoff is the wait before the first retry, doubled at each next
	// one; a Retry-After header overrides it. Waits are capped at a minute.
	// Default 1 s.
	RetryBackoff time.Duration
	// Client sends the windows. Default: a client with a 60 s timeout
	// (meanwhiled answers once it has read the trace).
	Client *http.Client
	// Logger, when set, gets a line for each window sent (Debug), retried or
	// dropped or over the budget (Warn). Nil: the recorder logs nothing, but
	// for the one line saying it cannot run (to slog.Default()).
	Logger *slog.Logger
}

// FlightRecorderStats counts what a FlightRecorder did since it started.
type FlightRecorderStats struct {
	SlowSpans  uint64 // spans that ended slower than their threshold
	Covered    uint64 // slow spans in the window of an earlier slow span: no write of their own
	Windows    uint64 // windows written from the runtime's recorder
	Bytes      uint64 // bytes of the windows written
	OverBudget uint64 // windows not written or not sent for BytesPerMinute
	Sent       uint64 // windows meanwhiled accepted
	SentBytes  uint64 // bytes of those
	Retries    uint64 // sends tried again
	// Dropped windows were written but not accepted: the queue was full,
	// meanwhiled refused them or was away through every retry, or Stop came.
	Dropped     uint64
	WriteErrors uint64 // failed writes of the runtime's window
}

// A FlightRecorder keeps the last seconds of the process's execution trace and
// sends them to meanwhiled when a span of a provider wrapped
// WithFlightRecorder is slow. Its methods are safe for concurrent use.
type FlightRecorder struct {
	cfg    FlightRecorderConfig
	src    windowSource // nil: not running (Go < 1.25)
	target string       // Endpoint + the ingest path
	ops    opTable

	lastWrite   atomic.Int64  // now() when the last write began
	pendingEnd  atomic.Int64  // now() at the end of the latest slow span
	pendingSlow atomic.Uint64 // slow spans since the last write began
	kick        chan struct{}
	queue       chan *bytes.Buffer // one window waits while another is sent

	idMu     sync.Mutex
	resolved atomic.Bool // service and instance are final
	service  string
	instance string

	done     chan struct{}
	cancel   context.CancelFunc // of ctx, the requests' context
	ctx      context.Context
	wg       sync.WaitGroup
	stopOnce sync.Once

	budget   tokenBucket // the writer's
	lastSize int64       // the writer's: bytes of its last window

	slowSpans, covered, windows, bytes, overBudget, sent, sentBytes,
	retries, dropped, writeErrors atomic.Uint64
}

// windowSource is the runtime's flight recorder.
type windowSource interface {
	WriteTo(io.Writer) (int64, error)
	Stop()
}

var unsupportedOnce sync.Once

// StartFlightRecorder starts the runtime's flight recorder and the goroutines
// that send its windows to meanwhiled. Pass it to WrapTracerProvider with
// [WithFlightRecorder]; call Stop at shutdown.
//
// It fails when cfg.Endpoint is not an http or https URL, or when the runtime
// cannot start a flight recorder (only one may run in a process). Built with a
// Go older than 1.25 it logs once that it cannot run and returns a recorder
// that does nothing.
func StartFlightRecorder(cfg FlightRecorderConfig) (*FlightRecorder, error) {
	u, err := url.Parse(cfg.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("meanwhile: FlightRecorderConfig.Endpoint %q is not an http(s) URL such as http://127.0.0.1:4318", cfg.Endpoint)
	}
	setDefaults(&cfg)
	src, err := startSource(cfg.MinAge, cfg.MaxBytes)
	if err != nil {
		return nil, fmt.Errorf("meanwhile: starting the runtime's flight recorder: %w", err)
	}
	r := &FlightRecorder{cfg: cfg, src: src}
	if src == nil {
		unsupportedOnce.Do(func() {
			l := cfg.Logger
			if l == nil {
				l = slog.Default()
			}
			l.Warn("meanwhile: the flight recorder needs Go 1.25 or newer; this binary was built with " +
				runtime.Version() + ": no execution traces are sent")
		})
		return r, nil
	}
	r.target = strings.TrimSuffix(cfg.Endpoint, "/") + "/api/v1/ingest/exectrace"
	r.service, r.instance = cfg.Service, cfg.Instance
	r.resolved.Store(cfg.Service != "" && cfg.Instance != "")
	r.kick = make(chan struct{}, 1)
	r.queue = make(chan *bytes.Buffer, 1)
	r.done = make(chan struct{})
	r.ctx, r.cancel = context.WithCancel(context.Background())
	r.budget = tokenBucket{perMinute: cfg.BytesPerMinute, tokens: float64(cfg.BytesPerMinute)}
	r.wg.Add(2)
	go r.writeLoop()
	go r.sendLoop()
	return r, nil
}

func setDefaults(c *FlightRecorderConfig) {
	if c.ProcessStart.IsZero() {
		c.ProcessStart = epoch
	}
	if c.MinAge <= 0 {
		c.MinAge = 10 * time.Second
	}
	if c.MaxBytes == 0 {
		c.MaxBytes = 10 << 20
	}
	if c.Floor <= 0 {
		c.Floor = 20 * time.Millisecond
	}
	if c.Delay <= 0 {
		c.Delay = time.Second
	}
	if c.BytesPerMinute == 0 {
		c.BytesPerMinute = 60 << 20
	}
	if c.Retries == 0 {
		c.Retries = 4
	}
	if c.RetryBackoff <= 0 {
		c.RetryBackoff = time.Second
	}
	if c.Client == nil {
		c.Client = &http.Client{Timeout: time.Minute}
	}
}

// WithFlightRecorder makes the spans of the wrapped provider report their
// durations to r, which sends the execution trace around the slow ones to
// meanwhiled. A nil r, or one that does not run (Go < 1.25), changes nothing.
func WithFlightRecorder(r *FlightRecorder) Option {
	return func(c *config) {
		if r != nil && r.src != nil {
			c.recorder = r
		}
	}
}

// Stop stops the runtime's flight recorder and the sending; a window not yet
// accepted is dropped. Spans that end later are not judged. Stop waits for a
// request in flight to be cancelled. Calling it again does nothing.
func (r *FlightRecorder) Stop() {
	r.stopOnce.Do(func() {
		if r.src == nil {
			return
		}
		close(r.done)
		r.cancel()
		r.wg.Wait()
		r.dropped.Add(uint64(len(r.queue)))
		r.src.Stop()
	})
}

// Stats returns the counts of what the recorder did since it started.
func (r *FlightRecorder) Stats() FlightRecorderStats {
	return FlightRecorderStats{
		SlowSpans: r.slowSpans.Load(), Covered: r.covered.Load(),
		Windows: r.windows.Load(), Bytes: r.bytes.Load(), OverBudget: r.overBudget.Load(),
		Sent: r.sent.Load(), SentBytes: r.sentBytes.Load(), Retries: r.retries.Load(),
		Dropped: r.dropped.Load(), WriteErrors: r.writeErrors.Load(),
	}
}

// judges reports whether a span started from ctx is timed.
func (r *FlightRecorder) judges(ctx context.Context) bool {
	if !r.cfg.LocalRootsOnly {
		return true
	}
	p := trace.SpanContextFromContext(ctx)
	return !p.IsValid() || p.IsRemote()
}

// observe judges a span of name that took d ns and ended at end (now()); for
// a slow span not yet in a written window it wakes the writer. sp gives the
// resource when the service is not known yet.
func (r *FlightRecorder) observe(name string, d, end int64, sp trace.Span) {
	if th := int64(r.cfg.Threshold); th > 0 {
		if d <= th {
			return
		}
	} else if p := r.ops.get(name).add(d); p == 0 || d <= p || d <= int64(r.cfg.Floor) {
		return
	}
	r.slowSpans.Add(1)
	r.pendingSlow.Add(1)
	if !r.resolved.Load() {
		r.resolve(sp)
	}
	for {
		old := r.pendingEnd.Load()
		if end <= old || r.pendingEnd.CompareAndSwap(old, end) {
			break
		}
	}
	select {
	case r.kick <- struct{}{}:
	default: // the writer is awake already
	}
}

// resolve takes service and instance from the resource of sp, an SDK span.
func (r *FlightRecorder) resolve(sp trace.Span) {
	rs, ok := sp.(interface{ Resource() *resource.Resource })
	if !ok {
		return
	}
	res := rs.Resource()
	if res == nil {
		return
	}
	r.idMu.Lock()
	defer r.idMu.Unlock()
	if r.resolved.Load() {
		return
	}
	for _, kv := range res.Attributes() {
		switch kv.Key {
		case "service.name":
			if r.service == "" {
				r.service = kv.Value.Emit()
			}
		case "service.instance.id":
			if r.instance == "" {
				r.instance = kv.Value.Emit()
			}
		}
	}
	r.resolved.Store(true)
}

// query returns the ingest URL's query: the identity as known now.
func (r *FlightRecorder) query() string {
	r.idMu.Lock()
	service, instance := r.service, r.instance
	r.idMu.Unlock()
	if service == "" {
		service = os.Getenv("OTEL_SERVICE_NAME")
	}
	if service == "" {
		service = filepath.Base(os.Args[0])
	}
	q := url.Values{}
	q.Set("service", service)
	if instance != "" {
		q.Set("instance", instance)
	}
	q.Set("process_start", strconv.FormatInt(r.cfg.ProcessStart.UnixNano(), 10))
	q.Set("trigger", "slow_span")
	return q.Encode()
}

func (r *FlightRecorder) logf(level slog.Level, msg string, args ...any) {
	if r.cfg.Logger != nil {
		r.cfg.Logger.Log(context.Background(), level, msg, args...)
	}
}

// sleep waits d; false when Stop came first.
func (r *FlightRecorder) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-r.done:
		return false
	case <-t.C:
		return true
	}
}

// writeLoop writes a window Delay after each slow span that no window holds.
func (r *FlightRecorder) writeLoop() {
	defer r.wg.Done()
	for {
		select {
		case <-r.done:
			return
		case <-r.kick:
		}
		if !r.sleep(r.cfg.Delay) {
			return
		}
		last := r.lastWrite.Load()
		if r.pendingEnd.Load() <= last {
			continue // the slow spans since the wake-up are in the last window
		}
		// Half a window after the last write, the window still holds these
		// slow spans, and now overlaps the last one by half at most.
		if wait := time.Duration(last + int64(r.cfg.MinAge/2) - now()); last > 0 && wait > 0 && !r.sleep(wait) {
			return
		}
		r.write()
	}
}

// write writes the window and queues it, within the budget.
func (r *FlightRecorder) write() {
	t := now()
	if !r.budget.has(t, r.lastSize) {
		r.overBudget.Add(1)
		r.logf(slog.LevelWarn, "meanwhile: execution trace window skipped: over the budget",
			"bytes_per_minute", r.cfg.BytesPerMinute)
		return
	}
	buf := new(bytes.Buffer)
	buf.Grow(int(r.lastSize + r.lastSize/8))
	r.lastWrite.Store(t)
	if n := r.pendingSlow.Swap(0); n > 1 {
		r.covered.Add(n - 1)
	}
	n, err := r.src.WriteTo(buf)
	if err != nil {
		r.writeErrors.Add(1)
		r.logf(slog.LevelWarn, "meanwhile: writing the execution trace window failed", "err", err)
		return
	}
	r.lastSize = n
	if !r.budget.take(t, n) {
		r.overBudget.Add(1)
		r.logf(slog.LevelWarn, "meanwhile: execution trace window skipped: over the budget",
			"bytes", n, "bytes_per_minute", r.cfg.BytesPerMinute)
		return
	}
	r.windows.Add(1)
	r.bytes.Add(uint64(n))
	select {
	case r.queue <- buf:
	default:
		r.dropped.Add(1)
		r.logf(slog.LevelWarn, "meanwhile: execution trace window dropped: two are waiting for meanwhiled", "bytes", n)
	}
}

// sendLoop sends the queued windows.
func (r *FlightRecorder) sendLoop() {
	defer r.wg.Done()
	for {
		select {
		case <-r.done:
			return
		case b := <-r.queue:
			r.send(b.Bytes())
		}
	}
}

// maxWait caps a wait between two sends of a window.
const maxWait = time.Minute

// send posts one window, retrying while meanwhiled is busy or away.
func (r *FlightRecorder) send(body []byte) {
	wait := r.cfg.RetryBackoff
	for attempt := 0; ; attempt++ {
		status, after, msg, err := r.post(body)
		if err == nil && status/100 == 2 {
			r.sent.Add(1)
			r.sentBytes.Add(uint64(len(body)))
			r.logf(slog.LevelDebug, "meanwhile: execution trace window sent", "bytes", len(body))
			return
		}
		if err == nil && status != http.StatusRequestTimeout && status != http.StatusTooManyRequests && status < 500 {
			r.dropped.Add(1)
			r.logf(slog.LevelWarn, "meanwhile: meanwhiled refused the execution trace window",
				"status", status, "error", msg, "bytes", len(body))
			return
		}
		if err == nil {
			err = fmt.Errorf("status %d: %s", status, msg)
		}
		if attempt >= r.cfg.Retries || r.ctx.Err() != nil {
			r.dropped.Add(1)
			r.logf(slog.LevelWarn, "meanwhile: execution trace window dropped: meanwhiled did not take it",
				"attempts", attempt+1, "err", err, "bytes", len(body))
			return
		}
		d := wait
		if after > 0 {
			d = after
		}
		wait *= 2
		r.retries.Add(1)
		r.logf(slog.LevelWarn, "meanwhile: sending the execution trace window again", "after", min(d, maxWait), "err", err)
		if !r.sleep(min(d, maxWait)) {
			r.dropped.Add(1)
			return
		}
	}
}

// post sends body once: the status, its Retry-After, and the error message of
// a status other than 2xx.
func (r *FlightRecorder) post(body []byte) (status int, after time.Duration, msg string, err error) {
	req, err := http.NewRequestWithContext(r.ctx, http.MethodPost, r.target+"?"+r.query(), bytes.NewReader(body))
	if err != nil {
		return 0, 0, "", err
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	if r.cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+r.cfg.Token)
	}
	resp, err := r.cfg.Client.Do(req)
	if err != nil {
		return 0, 0, "", err
	}
	defer resp.Body.Close()
	var b []byte
	if resp.StatusCode/100 != 2 {
		b, _ = io.ReadAll(io.LimitReader(resp.Body, 1024))
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, retryAfter(resp.Header.Get("Retry-After")), strings.TrimSpace(string(b)), nil
}

// retryAfter reads a Retry-After value: seconds or an HTTP date; 0 if none.
func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}

// tokenBucket is the byte budget: up to perMinute bytes at once, refilled at
// perMinute a minute. A negative perMinute is no bound.
type tokenBucket struct {
	perMinute int64
	tokens    float64
	last      int64 // now() of the last refill
}

func (b *tokenBucket) refill(t int64) {
	b.tokens = min(float64(b.perMinute), b.tokens+float64(t-b.last)*float64(b.perMinute)/float64(time.Minute))
	b.last = t
}

// has reports whether n bytes fit now, at t.
func (b *tokenBucket) has(t, n int64) bool {
	if b.perMinute < 0 {
		return true
	}
	b.refill(t)
	return b.tokens >= float64(n)
}

// take spends n bytes at t if they fit.
func (b *tokenBucket) take(t, n int64) bool {
	if !b.has(t, n) {
		return false
	}
	if b.perMinute >= 0 {
		b.tokens -= float64(n)
	}
	return true
}
