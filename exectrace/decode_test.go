// A reader of Records for the tests: decodes the converter's output field by
// field (protowire), independently of wire.go, so that a field written under
// the wrong number or type fails here as it would in meanwhiled.
package main

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

type dFrame struct {
	Func, File string
	Line       int64
}

type dSpan struct {
	TraceID, SpanID []byte
	Name            string
	Task            uint64
}

type dInterval struct {
	G                        uint64
	State                    int
	Reason, Raw              string
	Start, End               int64
	Stack, Span              uint32
	ClippedStart, ClippedEnd bool
}

type dWake struct {
	G, Waker                    uint64
	Time                        int64
	WakerStack, WakerSpan, Span uint32
}

type dWindow struct {
	Kind                     int
	Start, End               int64
	Reason                   string
	ClippedStart, ClippedEnd bool
}

type dProcs struct {
	Time int64
	N    int32
}

type dSummary struct {
	Start, End  int64
	Alignment   int
	ClockError  int64
	Events      uint64
	Generations uint32
	Goroutines  uint32
	GoVersion   string
}

type records struct {
	Stacks    map[uint32][]dFrame
	Spans     []dSpan
	Intervals []dInterval
	Wakes     []dWake
	Windows   []dWindow
	Procs     []dProcs
	Summary   *dSummary
}

// fields calls f for each field of b; it fails on anything malformed.
func fields(b []byte, f func(num protowire.Number, v uint64, bs []byte) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		switch typ {
		case protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return protowire.ParseError(n)
			}
			b = b[n:]
			if err := f(num, v, nil); err != nil {
				return err
			}
		case protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return protowire.ParseError(n)
			}
			b = b[n:]
			if err := f(num, 0, v); err != nil {
				return err
			}
		default:
			return fmt.Errorf("field %d: unexpected wire type %d", num, typ)
		}
	}
	return nil
}

func decodeRecords(b []byte) (*records, error) {
	r := &records{Stacks: map[uint32][]dFrame{}}
	err := fields(b, func(num protowire.Number, _ uint64, m []byte) error {
		if m == nil && num != 15 {
			return fmt.Errorf("Records field %d: not a message", num)
		}
		switch num {
		case 1:
			var id uint32
			var frames []dFrame
			err := fields(m, func(n protowire.Number, v uint64, bs []byte) error {
				switch n {
				case 1:
					id = uint32(v)
				case 2:
					var fr dFrame
					err := fields(bs, func(n protowire.Number, v uint64, bs []byte) error {
						switch n {
						case 1:
							fr.Func = string(bs)
						case 2:
							fr.File = string(bs)
						case 3:
							fr.Line = int64(v)
						}
						return nil
					})
					frames = append(frames, fr)
					return err
				}
				return nil
			})
			if _, dup := r.Stacks[id]; dup || id == 0 {
				return fmt.Errorf("stack id %d repeated or 0", id)
			}
			r.Stacks[id] = frames
			return err
		case 2:
			var s dSpan
			r.Spans = append(r.Spans, s)
			return fields(m, func(n protowire.Number, v uint64, bs []byte) error {
				p := &r.Spans[len(r.Spans)-1]
				switch n {
				case 1:
					p.TraceID = bs
				case 2:
					p.SpanID = bs
				case 3:
					p.Name = string(bs)
				case 4:
					p.Task = v
				}
				return nil
			})
		case 3:
			var iv dInterval
			err := fields(m, func(n protowire.Number, v uint64, bs []byte) error {
				switch n {
				case 1:
					iv.G = v
				case 2:
					iv.State = int(v)
				case 3:
					iv.Reason = string(bs)
				case 4:
					iv.Raw = string(bs)
				case 5:
					iv.Start = int64(v)
				case 6:
					iv.End = int64(v)
				case 7:
					iv.Stack = uint32(v)
				case 8:
					iv.Span = uint32(v)
				case 9:
					iv.ClippedStart = v != 0
				case 10:
					iv.ClippedEnd = v != 0
				}
				return nil
			})
			r.Intervals = append(r.Intervals, iv)
			return err
		case 4:
			var w dWake
			err := fields(m, func(n protowire.Number, v uint64, bs []byte) error {
				switch n {
				case 1:
					w.G = v
				case 2:
					w.Waker = v
				case 3:
					w.Time = int64(v)
				case 4:
					w.WakerStack = uint32(v)
				case 5:
					w.WakerSpan = uint32(v)
				case 6:
					w.Span = uint32(v)
				}
				return nil
			})
			r.Wakes = append(r.Wakes, w)
			return err
		case 5:
			var w dWindow
			err := fields(m, func(n protowire.Number, v uint64, bs []byte) error {
				switch n {
				case 1:
					w.Kind = int(v)
				case 2:
					w.Start = int64(v)
				case 3:
					w.End = int64(v)
				case 4:
					w.Reason = string(bs)
				case 5:
					w.ClippedStart = v != 0
				case 6:
					w.ClippedEnd = v != 0
				}
				return nil
			})
			r.Windows = append(r.Windows, w)
			return err
		case 6:
			var p dProcs
			err := fields(m, func(n protowire.Number, v uint64, bs []byte) error {
				switch n {
				case 1:
					p.Time = int64(v)
				case 2:
					p.N = int32(v)
				}
				return nil
			})
			r.Procs = append(r.Procs, p)
			return err
		case 15:
			if r.Summary != nil {
				return fmt.Errorf("two summaries")
			}
			s := &dSummary{}
			r.Summary = s
			return fields(m, func(n protowire.Number, v uint64, bs []byte) error {
				switch n {
				case 1:
					s.Start = int64(v)
				case 2:
					s.End = int64(v)
				case 3:
					s.Alignment = int(v)
				case 4:
					s.ClockError = int64(v)
				case 5:
					s.Events = v
				case 6:
					s.Generations = uint32(v)
				case 7:
					s.Goroutines = uint32(v)
				case 8:
					s.GoVersion = string(bs)
				}
				return nil
			})
		default:
			return fmt.Errorf("unknown Records field %d", num)
		}
	})
	return r, err
}
