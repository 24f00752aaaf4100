// Stacks of the trace as Records.stacks: deduplicated across generations (the
// reader's stack handles are per generation; the program counters are not),
// written once each, leaf first, and classified once for the block reasons
// the runtime's words leave open ("sync" is a mutex or a WaitGroup; a status
// at the trace's start gives no reason at all).
package main

import (
	"encoding/binary"
	"strings"

	"golang.org/x/exp/trace"
)

func (c *converter) stackID(s trace.Stack) uint32 {
	if s == trace.NoStack {
		return 0
	}
	if id, ok := c.byHandle[s]; ok {
		return id
	}
	c.pcKey = c.pcKey[:0]
	c.frames = c.frames[:0]
	for f := range s.Frames() {
		c.pcKey = binary.LittleEndian.AppendUint64(c.pcKey, f.PC)
		c.frames = append(c.frames, frame{fn: f.Func, file: f.File, line: int64(f.Line)})
	}
	if len(c.frames) == 0 { // a handle to no frames (a damaged trace) tells nothing: no stack
		c.byHandle[s] = 0
		return 0
	}
	id, ok := c.byPCs[string(c.pcKey)]
	if !ok {
		id = uint32(len(c.stackKind))
		c.byPCs[string(c.pcKey)] = id
		c.stackKind = append(c.stackKind, stackReason(c.frames))
		c.w.stack(id, c.frames)
	}
	c.byHandle[s] = id
	return id
}

// blockReason normalizes the runtime's block reason (runtime/traceruntime.go's
// traceBlockReasonStrings) to records.proto's reasons, using the stack where
// the words do not decide.
func (c *converter) blockReason(raw string, stack uint32) string {
	switch raw {
	case "chan send", "chan receive":
		return "chan"
	case "select", "forever":
		return "select"
	case "sync.(*Cond).Wait":
		return "cond"
	case "network":
		return "io"
	case "sleep":
		return "sleep"
	case "preempted":
		return "preempted"
	case "GC mark assist wait for work", "GC background sweeper wait", "wait until GC ends", "GC weak to strong wait":
		return "gc"
	case "sync", "":
		if k := c.stackKind[stack]; k != "" {
			return k
		}
		if raw == "sync" {
			return "sync"
		}
		return "other"
	}
	if strings.Contains(raw, "syscall") {
		return "syscall"
	}
	if strings.HasPrefix(raw, "GC ") {
		return "gc"
	}
	return "other"
}

// stackReason is the block reason a stack shows, from its innermost frame
// that names one ("" when none does).
func stackReason(frames []frame) string {
	for _, f := range frames {
		fn := f.fn
		switch {
		case strings.HasPrefix(fn, "sync.(*Mutex)."), strings.HasPrefix(fn, "sync.(*RWMutex)."),
			strings.HasPrefix(fn, "internal/sync.(*Mutex)."):
			return "mutex"
		case strings.HasPrefix(fn, "sync.(*WaitGroup)."), strings.HasPrefix(fn, "golang.org/x/sync/"),
			strings.HasPrefix(fn, "sync.(*Once)."):
			return "sync"
		case strings.HasPrefix(fn, "sync.(*Cond)."):
			return "cond"
		case strings.HasPrefix(fn, "runtime.chanrecv"), strings.HasPrefix(fn, "runtime.chansend"),
			fn == "runtime.closechan":
			return "chan"
		case fn == "runtime.selectgo" || fn == "runtime.block":
			return "select"
		case fn == "time.Sleep":
			return "sleep"
		case strings.HasPrefix(fn, "internal/poll."):
			return "io"
		}
	}
	return ""
}
