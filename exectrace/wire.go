// The output side of meanwhile-exectrace: one meanwhile.exectrace.v1.Records
// message (schema/meanwhile/exectrace/v1/records.proto) written field by field
// as the conversion goes. A protobuf message is the concatenation of its
// fields, so each Stack, Span, Interval, ... is appended as one length-
// delimited field of Records the moment it is complete, and nothing but the
// open state of the trace is held in memory. The encoding is done by hand with
// protowire rather than with generated code: the writer never builds message
// objects (no allocation per record), and the build needs no protoc step.
package main

import (
	"bufio"

	"google.golang.org/protobuf/encoding/protowire"
)

// Field numbers of records.proto.
const (
	fRecordsStacks    = 1
	fRecordsSpans     = 2
	fRecordsIntervals = 3
	fRecordsWakes     = 4
	fRecordsWindows   = 5
	fRecordsProcs     = 6
	fRecordsSummary   = 15
)

// State and enum values of records.proto.
type State int32

const (
	stateRunning  State = 1
	stateRunnable State = 2
	stateBlocked  State = 3
	stateSyscall  State = 4
	stateGCAssist State = 5
	stateStopped  State = 6
)

const (
	windowGC  = 1
	windowSTW = 2
)

const (
	alignClockSnapshot = 1
	alignCaptureTime   = 2
	alignNone          = 3
)

type frame struct {
	fn, file string
	line     int64
}

type interval struct {
	g            uint64
	state        State
	reason       string
	rawReason    string
	start, end   int64
	stack        uint32
	span         uint32
	clippedStart bool
	clippedEnd   bool
}

type wake struct {
	g, waker   uint64
	time       int64
	wakerStack uint32
	wakerSpan  uint32
	span       uint32
}

type summary struct {
	start, end  int64
	alignment   int32
	clockError  int64
	events      uint64
	generations uint32
	goroutines  uint32
	goVersion   string
}

// writer appends Records fields to out. msg is scratch space for the one
// embedded message being built (its length must precede it on the wire).
type writer struct {
	out *bufio.Writer
	msg []byte
	sub []byte
	// a field's tag and length: kept here, not on the stack, because
	// bufio.Writer.Write may hand its argument to the underlying writer, so a
	// local array escapes and costs a heap allocation per record (a fifth of
	// the writer's time on a busy window)
	hdr [20]byte
}

func (w *writer) emit(field protowire.Number) {
	b := protowire.AppendTag(w.hdr[:0], field, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(len(w.msg)))
	w.out.Write(b)
	w.out.Write(w.msg)
	w.msg = w.msg[:0]
}

func appendString(b []byte, f protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	b = protowire.AppendTag(b, f, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func appendBytes(b []byte, f protowire.Number, s []byte) []byte {
	if len(s) == 0 {
		return b
	}
	b = protowire.AppendTag(b, f, protowire.BytesType)
	return protowire.AppendBytes(b, s)
}

func appendVarint(b []byte, f protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	if f >= 16 {
		b = protowire.AppendTag(b, f, protowire.VarintType)
		return protowire.AppendVarint(b, v)
	}
	// a field under 16 has a one-byte tag; the loop is protowire's varint
	// without its calls (a busy window writes some ten million of these)
	b = append(b, byte(f)<<3)
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

func appendBool(b []byte, f protowire.Number, v bool) []byte {
	if !v {
		return b
	}
	return appendVarint(b, f, 1)
}

func (w *writer) stack(id uint32, frames []frame) {
	w.msg = appendVarint(w.msg, 1, uint64(id))
	for _, fr := range frames {
		w.sub = appendString(w.sub[:0], 1, fr.fn)
		w.sub = appendString(w.sub, 2, fr.file)
		w.sub = appendVarint(w.sub, 3, uint64(fr.line))
		w.msg = protowire.AppendTag(w.msg, 2, protowire.BytesType)
		w.msg = protowire.AppendBytes(w.msg, w.sub)
	}
	w.emit(fRecordsStacks)
}

func (w *writer) span(traceID, spanID []byte, name string, task uint64) {
	w.msg = appendBytes(w.msg, 1, traceID)
	w.msg = appendBytes(w.msg, 2, spanID)
	w.msg = appendString(w.msg, 3, name)
	w.msg = appendVarint(w.msg, 4, task)
	w.emit(fRecordsSpans)
}

func (w *writer) interval(iv *interval) {
	w.msg = appendVarint(w.msg, 1, iv.g)
	w.msg = appendVarint(w.msg, 2, uint64(iv.state))
	w.msg = appendString(w.msg, 3, iv.reason)
	w.msg = appendString(w.msg, 4, iv.rawReason)
	w.msg = appendVarint(w.msg, 5, uint64(iv.start))
	w.msg = appendVarint(w.msg, 6, uint64(iv.end))
	w.msg = appendVarint(w.msg, 7, uint64(iv.stack))
	w.msg = appendVarint(w.msg, 8, uint64(iv.span))
	w.msg = appendBool(w.msg, 9, iv.clippedStart)
	w.msg = appendBool(w.msg, 10, iv.clippedEnd)
	w.emit(fRecordsIntervals)
}

func (w *writer) wake(wk *wake) {
	w.msg = appendVarint(w.msg, 1, wk.g)
	w.msg = appendVarint(w.msg, 2, wk.waker)
	w.msg = appendVarint(w.msg, 3, uint64(wk.time))
	w.msg = appendVarint(w.msg, 4, uint64(wk.wakerStack))
	w.msg = appendVarint(w.msg, 5, uint64(wk.wakerSpan))
	w.msg = appendVarint(w.msg, 6, uint64(wk.span))
	w.emit(fRecordsWakes)
}

func (w *writer) window(kind int, start, end int64, reason string, clippedStart, clippedEnd bool) {
	w.msg = appendVarint(w.msg, 1, uint64(kind))
	w.msg = appendVarint(w.msg, 2, uint64(start))
	w.msg = appendVarint(w.msg, 3, uint64(end))
	w.msg = appendString(w.msg, 4, reason)
	w.msg = appendBool(w.msg, 5, clippedStart)
	w.msg = appendBool(w.msg, 6, clippedEnd)
	w.emit(fRecordsWindows)
}

func (w *writer) procs(t int64, n int32) {
	w.msg = appendVarint(w.msg, 1, uint64(t))
	w.msg = appendVarint(w.msg, 2, uint64(n))
	w.emit(fRecordsProcs)
}

func (w *writer) summary(s *summary) {
	w.msg = appendVarint(w.msg, 1, uint64(s.start))
	w.msg = appendVarint(w.msg, 2, uint64(s.end))
	w.msg = appendVarint(w.msg, 3, uint64(s.alignment))
	w.msg = appendVarint(w.msg, 4, uint64(s.clockError))
	w.msg = appendVarint(w.msg, 5, s.events)
	w.msg = appendVarint(w.msg, 6, uint64(s.generations))
	w.msg = appendVarint(w.msg, 7, uint64(s.goroutines))
	w.msg = appendString(w.msg, 8, s.goVersion)
	w.emit(fRecordsSummary)
}
