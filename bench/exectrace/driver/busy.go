// The busy service whose flight-recorder window the benchmark reads: an HTTP
// server on loopback driven by its own clients, whose handlers run in tasks
// with the span log events of docs/EXECTRACE.md's convention and do what
// services do — hand work to a pool over channels, take a contended mutex,
// allocate (GC), sleep on a timer, compute — while background goroutines tick.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	rtrace "runtime/trace"
	"sync"
	"sync/atomic"
	"time"
)

type busy struct {
	srv     *http.Server
	base    string
	jobs    chan job
	mu      sync.Mutex
	table   map[int][]byte
	stop    chan struct{}
	wg      sync.WaitGroup
	handled atomic.Int64
}

type job struct {
	n     int
	reply chan int
}

func spanIDs() string {
	var b [24]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:16]) + "/" + hex.EncodeToString(b[16:])
}

// handle is one request: a task and a span log, as client/go makes them.
func (b *busy) handle(w http.ResponseWriter, r *http.Request) {
	ctx, task := rtrace.NewTask(r.Context(), "GET /item")
	defer task.End()
	rtrace.Log(ctx, "meanwhile.span", spanIDs())
	n := len(r.URL.RawQuery)
	// a child span: the pool computes, we wait on the channel
	cctx, ctask := rtrace.NewTask(ctx, "pool.compute")
	rtrace.Log(cctx, "meanwhile.span", spanIDs())
	reply := make(chan int, 1)
	select {
	case b.jobs <- job{n: n, reply: reply}:
	case <-b.stop: // the workers are gone: the benchmark is over
		ctask.End()
		return
	}
	v := <-reply
	ctask.End()
	// contended state
	b.mu.Lock()
	buf := b.table[v%64]
	if buf == nil || len(buf) < 4096 {
		buf = make([]byte, 4096+v%4096)
		b.table[v%64] = buf
	}
	b.mu.Unlock()
	if v%5 == 0 {
		time.Sleep(time.Duration(v%3) * time.Millisecond)
	}
	garbage := make([][]byte, 8)
	for i := range garbage {
		garbage[i] = make([]byte, 2048)
	}
	fmt.Fprintf(w, "%d %d\n", v, len(buf)+len(garbage))
	b.handled.Add(1)
}

func (b *busy) worker() {
	defer b.wg.Done()
	for {
		select {
		case j := <-b.jobs:
			x := j.n
			for i := 0; i < 2000+j.n*37%3000; i++ {
				x = x*1103515245 + 12345
			}
			j.reply <- x & 0x7fffffff
		case <-b.stop:
			return
		}
	}
}

func (b *busy) ticker(d time.Duration) {
	defer b.wg.Done()
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			b.mu.Lock()
			delete(b.table, int(time.Now().UnixNano()%64))
			b.mu.Unlock()
		case <-b.stop:
			return
		}
	}
}

func (b *busy) client(id int) {
	defer b.wg.Done()
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	for i := 0; ; i++ {
		select {
		case <-b.stop:
			c.CloseIdleConnections()
			return
		default:
		}
		resp, err := c.Get(fmt.Sprintf("%s/item?c=%d&i=%d", b.base, id, i))
		if err != nil {
			continue
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if i%8 == 0 {
			time.Sleep(time.Millisecond)
		}
	}
}

// startBusy starts the service with workers pool goroutines and clients
// concurrent clients.
func startBusy(workers, clients int) (*busy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	b := &busy{jobs: make(chan job), table: map[int][]byte{}, stop: make(chan struct{}), base: "http://" + ln.Addr().String()}
	mux := http.NewServeMux()
	mux.HandleFunc("/item", b.handle)
	b.srv = &http.Server{Handler: mux}
	go b.srv.Serve(ln)
	for i := 0; i < workers; i++ {
		b.wg.Add(1)
		go b.worker()
	}
	for i := 0; i < 16; i++ {
		b.wg.Add(1)
		go b.ticker(time.Duration(5+i) * time.Millisecond)
	}
	for i := 0; i < clients; i++ {
		b.wg.Add(1)
		go b.client(i)
	}
	return b, nil
}

func (b *busy) close() {
	close(b.stop)
	b.wg.Wait()
	b.srv.Shutdown(context.Background())
}

// window runs the busy service under a flight recorder until a written window
// reaches want bytes (or limit passes) and returns the last window written.
func window(want int, limit time.Duration) ([]byte, error) {
	fr := rtrace.NewFlightRecorder(rtrace.FlightRecorderConfig{MinAge: 10 * time.Minute, MaxBytes: uint64(want) + uint64(want)/8})
	if err := fr.Start(); err != nil {
		return nil, err
	}
	defer fr.Stop()
	b, err := startBusy(8, 32)
	if err != nil {
		return nil, err
	}
	defer b.close()
	deadline := time.Now().Add(limit)
	var buf bytes.Buffer
	for {
		time.Sleep(500 * time.Millisecond)
		buf.Reset()
		if _, err := fr.WriteTo(&buf); err != nil {
			return nil, err
		}
		if buf.Len() >= want || time.Now().After(deadline) {
			return bytes.Clone(buf.Bytes()), nil
		}
	}
}
