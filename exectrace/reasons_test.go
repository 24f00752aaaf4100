// The block reasons: every reason the runtime writes (runtime/traceruntime.go's
// traceBlockReasonStrings, Go 1.22 to 1.27) maps to records.proto's reasons,
// and "sync" is told apart by the stack.
package main

import "testing"

func TestBlockReasons(t *testing.T) {
	c := &converter{stackKind: []string{"", "mutex", "sync", ""}}
	for _, tc := range []struct {
		raw   string
		stack uint32
		want  string
	}{
		{"unspecified", 0, "other"},
		{"forever", 0, "select"}, // select {} and a nil-channel wait
		{"network", 0, "io"},
		{"select", 0, "select"},
		{"sync.(*Cond).Wait", 0, "cond"},
		{"sync", 1, "mutex"},
		{"sync", 2, "sync"},
		{"sync", 3, "sync"},
		{"chan send", 0, "chan"},
		{"chan receive", 0, "chan"},
		{"GC mark assist wait for work", 0, "gc"},
		{"GC background sweeper wait", 0, "gc"},
		{"system goroutine wait", 0, "other"},
		{"preempted", 0, "preempted"},
		{"wait for debug call", 0, "other"},
		{"wait until GC ends", 0, "gc"},
		{"sleep", 0, "sleep"},
		{"GC weak to strong wait", 0, "gc"},
		{"synctest", 0, "other"},
		{"", 0, "other"},
		{"", 1, "mutex"},
	} {
		if got := c.blockReason(tc.raw, tc.stack); got != tc.want {
			t.Errorf("blockReason(%q, stack %d) = %q, want %q", tc.raw, tc.stack, got, tc.want)
		}
	}
}

func TestStackReason(t *testing.T) {
	for _, tc := range []struct {
		leaf, want string
	}{
		{"sync.(*Mutex).Lock", "mutex"},
		{"internal/sync.(*Mutex).lockSlow", "mutex"},
		{"sync.(*RWMutex).RLock", "mutex"},
		{"sync.(*WaitGroup).Wait", "sync"},
		{"sync.(*Cond).Wait", "cond"},
		{"runtime.chanrecv1", "chan"},
		{"runtime.chansend1", "chan"},
		{"runtime.selectgo", "select"},
		{"time.Sleep", "sleep"},
		{"internal/poll.(*FD).Read", "io"},
		{"main.main", ""},
	} {
		frames := []frame{{fn: tc.leaf}, {fn: "main.work"}, {fn: "runtime.goexit"}}
		if got := stackReason(frames); got != tc.want {
			t.Errorf("stackReason(%s...) = %q, want %q", tc.leaf, got, tc.want)
		}
	}
}
