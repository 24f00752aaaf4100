package main

import (
	"testing"

	"golang.org/x/exp/trace"
)

// A wall clock that runs 5,000 ppm fast against the trace clock (as a VM's
// does while it catches up: 0.5 ms stepped every 100 ms) must not put a
// generation's events milliseconds off: the rate measured over the last
// generation carries into the next. Expected times are worked out by hand.
func TestClockSnapshotRate(t *testing.T) {
	const wall0 = int64(1_796_510_000_000_000_000)
	c := &converter{alignment: alignClockSnapshot}
	c.clockSnapshot(0, wall0)
	// the first generation: no rate known yet, the clocks advance alike
	if got, want := c.ns(trace.Time(500_000_000)), wall0+500_000_000; got != want {
		t.Fatalf("first generation: %d, want %d", got, want)
	}
	c.clockSnapshot(1_000_000_000, wall0+1_005_000_000)
	if c.clockError != 5_000_000 {
		t.Fatalf("clock error after a generation at 5,000 ppm: %d, want 5000000", c.clockError)
	}
	// 0.5 s into the second generation: 0.5 s × 1.005 after its snapshot
	if got, want := c.ns(trace.Time(1_500_000_000)), wall0+1_005_000_000+502_500_000; got != want {
		t.Fatalf("second generation: %d, want %d (off by %d ns)", got, want, got-want)
	}
	// the rate held: the third snapshot is where it was predicted, the error stays
	c.clockSnapshot(2_000_000_000, wall0+2_010_000_000)
	if c.clockError != 5_000_000 {
		t.Fatalf("clock error: %d, want 5000000 (the first generation's)", c.clockError)
	}
	// a step of the wall clock (set back 2 s) is not a rate: the clocks advance alike after it
	c.clockSnapshot(3_000_000_000, wall0+1_015_000_000)
	if got, want := c.ns(trace.Time(3_100_000_000)), wall0+1_115_000_000; got != want {
		t.Fatalf("after a step: %d, want %d", got, want)
	}
	if c.clockError != 2_000_000_000 {
		t.Fatalf("clock error after a 2 s step: %d, want 2000000000", c.clockError)
	}
	// generations too short to measure a rate over keep the clocks alike
	c.clockSnapshot(3_050_000_000, wall0+1_065_100_000)
	if got, want := c.ns(trace.Time(3_060_000_000)), wall0+1_075_100_000; got != want {
		t.Fatalf("after a short generation: %d, want %d", got, want)
	}
}
