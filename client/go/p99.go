// The running p99 of span durations per span name, for the flight recorder's
// "this span was slow" test. It sits on the path of every span's End, so it
// takes no lock there and allocates nothing: each name has a ring of its last
// 256 durations, written with atomics, and every 32nd duration recomputes the
// name's p99 from the ring (one pass over 256 values). The set of names is a
// map that is copied when a name is added (names are few and fixed in a
// service); past maxOps names, the new ones share one ring.

package meanwhile

import (
	"math"
	"sync"
	"sync/atomic"
)

const (
	ringSize = 256 // durations kept per name
	// minSamples durations of a name before it has a p99: fewer say little
	// about its tail.
	minSamples   = 128
	refreshEvery = 32   // durations between two computations of a p99
	maxOps       = 1000 // names with a ring of their own
)

// opStats is the running p99 of one span name.
type opStats struct {
	n    atomic.Uint64
	p99  atomic.Int64            // ns; 0 until minSamples durations
	ring [ringSize]atomic.Uint32 // µs, the last ringSize durations
}

// add records duration d (ns) and returns the p99 of the durations recorded
// before it, or 0 while there were fewer than minSamples of them.
func (o *opStats) add(d int64) int64 {
	p := o.p99.Load()
	us := max(d/1000, 0)
	if us > math.MaxUint32 {
		us = math.MaxUint32
	}
	i := o.n.Add(1)
	o.ring[(i-1)%ringSize].Store(uint32(us))
	if i%refreshEvery == 0 && i >= minSamples {
		o.p99.Store(o.quantile99(int(min(i, ringSize))))
	}
	return p
}

// quantile99 returns the 99th percentile (nearest rank) of the first n
// durations of the ring, in ns: the k-th largest, k = n - ceil(0.99 n) + 1,
// which is at most 3 for n ≤ 256. Durations written while it reads may mix
// old and new values; the estimate does not need better.
func (o *opStats) quantile99(n int) int64 {
	k := n - (99*n+99)/100 + 1
	var top [4]uint32 // the k largest so far, largest first
	for i := 0; i < n; i++ {
		v := o.ring[i].Load()
		if v <= top[k-1] {
			continue
		}
		j := k - 1
		for ; j > 0 && top[j-1] < v; j-- {
			top[j] = top[j-1]
		}
		top[j] = v
	}
	return int64(top[k-1]) * 1000
}

// opTable maps span names to their opStats.
type opTable struct {
	m     atomic.Pointer[map[string]*opStats]
	full  atomic.Bool // maxOps names: new names share other
	mu    sync.Mutex  // serialises adding a name
	other opStats
}

// get returns the opStats of name, adding it when it is new.
func (t *opTable) get(name string) *opStats {
	if m := t.m.Load(); m != nil {
		if o, ok := (*m)[name]; ok {
			return o
		}
	}
	if t.full.Load() {
		return &t.other
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	var old map[string]*opStats
	if m := t.m.Load(); m != nil {
		old = *m
	}
	if o, ok := old[name]; ok {
		return o
	}
	if len(old) >= maxOps {
		t.full.Store(true)
		return &t.other
	}
	m := make(map[string]*opStats, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	o := new(opStats)
	m[name] = o
	t.m.Store(&m)
	return o
}
