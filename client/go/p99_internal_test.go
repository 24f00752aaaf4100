// The slow-span test with synthetic durations: the running p99 per name, the
// floor, the fixed threshold, the cap on names, and the byte budget's bucket.
package meanwhile

import (
	"strconv"
	"testing"
	"time"
)

const ms = int64(time.Millisecond)

// judge is a recorder with no runtime behind it: observe only counts.
func judge(cfg FlightRecorderConfig) *FlightRecorder {
	setDefaults(&cfg)
	r := &FlightRecorder{cfg: cfg, kick: make(chan struct{}, 1)}
	r.resolved.Store(true)
	return r
}

// slow reports whether observe judged a span of name lasting d slow.
func (r *FlightRecorder) slow(name string, d int64) bool {
	before := r.slowSpans.Load()
	r.observe(name, d, now(), nil)
	return r.slowSpans.Load() > before
}

func TestP99Estimate(t *testing.T) {
	var o opStats
	// 1..256 ms: the p99 (nearest rank) of 256 values is the 254th smallest.
	for i := int64(1); i <= 256; i++ {
		o.add(i * ms)
	}
	if p := o.p99.Load(); p != 254*ms {
		t.Errorf("p99 of 1..256 ms: %v, want 254ms", time.Duration(p))
	}
	// The ring holds the last 256: 256 more of 1 ms, and the p99 is 1 ms.
	for range 256 {
		o.add(ms)
	}
	if p := o.p99.Load(); p != ms {
		t.Errorf("p99 after 256 of 1 ms: %v, want 1ms", time.Duration(p))
	}
	// 128 values (the first p99): the 127th smallest of 1..128.
	var q opStats
	for i := int64(128); i >= 1; i-- {
		q.add(i * ms)
	}
	if p := q.p99.Load(); p != 127*ms {
		t.Errorf("p99 of 128 values: %v, want 127ms", time.Duration(p))
	}
}

func TestSlowAgainstP99AndFloor(t *testing.T) {
	r := judge(FlightRecorderConfig{})
	// Before 128 durations there is no p99: nothing is slow.
	for i := range minSamples - 1 {
		if r.slow("GET /a", int64(10+i%20)*ms) {
			t.Fatalf("slow during warm-up at %d", i)
		}
	}
	for range 200 {
		r.slow("GET /a", 30*ms) // p99 30 ms
		r.slow("GET /b", 1*ms)  // p99 1 ms
	}
	for _, tc := range []struct {
		name string
		d    int64
		want bool
	}{
		{"GET /a", 30 * ms, false},  // not over its p99
		{"GET /a", 31 * ms, true},   // over p99 and floor
		{"GET /b", 19 * ms, false},  // over p99, under the floor
		{"GET /b", 21 * ms, true},   // over both
		{"GET /c", 500 * ms, false}, // a new name: no p99 yet
	} {
		if got := r.slow(tc.name, tc.d); got != tc.want {
			t.Errorf("%s %v: slow %v, want %v", tc.name, time.Duration(tc.d), got, tc.want)
		}
	}
}

func TestSlowAgainstFixedThreshold(t *testing.T) {
	r := judge(FlightRecorderConfig{Threshold: 5 * time.Millisecond})
	if r.slow("x", 5*ms) || !r.slow("x", 5*ms+1) || !r.slow("never seen", 6*ms) {
		t.Error("a fixed threshold judges every span against it, from the first")
	}
	r = judge(FlightRecorderConfig{Floor: 50 * time.Millisecond})
	for range 200 {
		r.slow("y", 10*ms)
	}
	if r.slow("y", 40*ms) || !r.slow("y", 51*ms) {
		t.Error("Floor not applied")
	}
}

func TestNamesCapped(t *testing.T) {
	var tab opTable
	for i := range maxOps {
		if tab.get(strconv.Itoa(i)) == &tab.other {
			t.Fatalf("name %d shares the overflow ring", i)
		}
	}
	if tab.get("one more") != &tab.other || tab.get("and another") != &tab.other {
		t.Error("names past maxOps do not share the overflow ring")
	}
	if tab.get("7") == &tab.other || tab.get("7") != tab.get("7") {
		t.Error("a known name lost its ring")
	}
}

func TestTokenBucket(t *testing.T) {
	b := tokenBucket{perMinute: 60 << 20, tokens: 60 << 20}
	sec := int64(time.Second)
	if !b.take(0, 50<<20) {
		t.Fatal("a full bucket refused 50 MiB")
	}
	if b.take(0, 20<<20) {
		t.Error("20 MiB more fit in 60 MiB/min at once")
	}
	if !b.has(10*sec, 20<<20) { // 10 MiB + 10 s of 1 MiB/s
		t.Error("the bucket did not refill")
	}
	if b.has(10*sec, 21<<20) {
		t.Error("the bucket refilled too much")
	}
	if b.has(1000*sec, 61<<20) {
		t.Error("the bucket holds more than a minute's bytes")
	}
	free := tokenBucket{perMinute: -1}
	if !free.take(0, 1<<40) {
		t.Error("a negative budget bounds")
	}
}
