// The load of bench/runtime-bytes: GET URL at a steady rate (open loop, paced by
// a ticker) over a few keep-alive connections, for a duration. Standard library
// only. Prints one summary line: sent, ok, failed, and the achieved rate.
//
//	load -url http://127.0.0.1:18717/work -rate 300 -seconds 720 -conns 8
package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	url := flag.String("url", "http://127.0.0.1:18717/work", "what to GET")
	rate := flag.Float64("rate", 300, "requests per second")
	seconds := flag.Int("seconds", 600, "how long")
	conns := flag.Int("conns", 8, "workers (each one keep-alive connection)")
	flag.Parse()

	tr := &http.Transport{MaxIdleConnsPerHost: *conns}
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	jobs := make(chan struct{}, *conns*4)
	var sent, ok, failed, dropped atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < *conns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range jobs {
				resp, err := client.Get(*url)
				if err != nil {
					failed.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 {
					ok.Add(1)
				} else {
					failed.Add(1)
				}
			}
		}()
	}
	start := time.Now()
	end := start.Add(time.Duration(*seconds) * time.Second)
	tick := time.NewTicker(time.Duration(float64(time.Second) / *rate))
	for now := range tick.C {
		if now.After(end) {
			break
		}
		select {
		case jobs <- struct{}{}:
			sent.Add(1)
		default:
			dropped.Add(1) // the service is behind: the load does not pile up
		}
	}
	tick.Stop()
	close(jobs)
	wg.Wait()
	el := time.Since(start).Seconds()
	fmt.Printf("load sent=%d ok=%d failed=%d dropped=%d seconds=%.1f rate=%.1f\n",
		sent.Load(), ok.Load(), failed.Load(), dropped.Load(), el, float64(ok.Load())/el)
	if failed.Load() > 0 {
		os.Exit(1)
	}
}
