// Inputs that are not whole traces: the converter says why in one line and
// exit status 2, never panics, and never ends its output with a summary (so
// that no reader mistakes a part for the whole). FuzzConvert looks further.
package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

func fixtureTraces(t testing.TB) []string {
	var paths []string
	for _, dir := range fixtureDirs {
		m, err := filepath.Glob(filepath.Join(dataDir(), dir, "*.trace"))
		if err != nil || len(m) == 0 {
			t.Fatalf("no fixtures in %s: %v", dir, err)
		}
		paths = append(paths, m...)
	}
	return paths
}

// checkResult is what must hold for any input: success with a decodable
// output ending in a summary, or a traceError of one line.
func checkResult(t testing.TB, in []byte) (*records, *traceError) {
	var out bytes.Buffer
	err := convert(bytes.NewReader(in), &out, options{})
	if err != nil {
		var te *traceError
		if !errors.As(err, &te) {
			t.Fatalf("error %v (%T) is not a traceError", err, err)
		}
		if te.msg == "" || strings.IndexFunc(te.msg, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 || len(te.msg) > 400 {
			t.Fatalf("error message %q is not one short line", te.msg)
		}
		return nil, te
	}
	r, derr := decodeRecords(out.Bytes())
	if derr != nil {
		t.Fatalf("output does not decode: %v", derr)
	}
	if r.Summary == nil {
		t.Fatalf("output has no summary")
	}
	for _, iv := range r.Intervals {
		if iv.End < iv.Start {
			t.Fatalf("interval ends before it starts: %+v", iv)
		}
		if iv.Stack != 0 && r.Stacks[iv.Stack] == nil {
			t.Fatalf("interval names stack %d, not in the output", iv.Stack)
		}
		if iv.Span > uint32(len(r.Spans)) {
			t.Fatalf("interval names span %d of %d", iv.Span, len(r.Spans))
		}
	}
	return r, nil
}

func TestHostileInputs(t *testing.T) {
	header := []byte("go 1.26 trace\x00\x00\x00")
	cases := []struct {
		name string
		in   []byte
		want string // the message's start
	}{
		{"empty", nil, "not a Go execution trace"},
		{"garbage", []byte("GIF89a this is not a trace at all"), "not a Go execution trace"},
		{"pprof profile", []byte{0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0}, "not a Go execution trace"},
		{"future version", []byte("go 1.99 trace\x00\x00\x00"), "unsupported trace version"},
		{"header only", header, "truncated: the trace has a header but no events"},
		{"header then junk", append(append([]byte{}, header...), bytes.Repeat([]byte{0xff, 0x13, 0x00}, 50)...), "malformed trace"},
		{"header then zeros", append(append([]byte{}, header...), make([]byte, 100)...), "malformed trace"},
	}
	// cuts of a trace of each format: Go 1.26's (generations end with a
	// marker; go1.26 and go1.27 write it) and Go 1.23's (go1.24 writes it; no
	// end marker), one of them with several generations' worth of GC events
	for _, name := range []string{"go1.26/chan", "go1.27/spans", "go1.24/chan", "go1.24/gc", "go1.26/gc"} {
		tr, err := os.ReadFile(filepath.Join(dataDir(), name+".trace"))
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range []int{17, 20, 64, len(tr) / 10, len(tr) / 3, len(tr) / 2, len(tr) - 100, len(tr) - 1} {
			cases = append(cases, struct {
				name string
				in   []byte
				want string
			}{name + " truncated at " + strconv.Itoa(n), tr[:n], "truncated"})
		}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, te := checkResult(t, c.in)
			if te == nil {
				t.Fatalf("converted; want an error")
			}
			if !strings.HasPrefix(te.msg, c.want) {
				t.Errorf("message %q, want it to start with %q", te.msg, c.want)
			}
			t.Logf("%s", te.msg)
		})
	}
}

// TestMainExit runs the built program: exit 2 and one line on stderr for an
// unreadable trace, exit 0 and the records for a good one.
func TestMainExit(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "meanwhile-exectrace")
	goCmd := "go" // the go command that runs this test, when it says (not under -trimpath)
	if root := runtime.GOROOT(); root != "" {
		goCmd = filepath.Join(root, "bin", "go")
	}
	build := exec.Command(goCmd, "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	run := func(in []byte, args ...string) (int, []byte, string) {
		cmd := exec.Command(bin, args...)
		cmd.Stdin = bytes.NewReader(in)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return code, stdout.Bytes(), stderr.String()
	}
	// a bad flag is not an unreadable trace (2): 1
	if code, _, stderr := run(nil, "-capture-time", "soon"); code != 1 {
		t.Errorf("bad flag: exit %d, want 1; stderr %q", code, stderr)
	}
	if code, _, stderr := run(nil, "extra"); code != 1 {
		t.Errorf("an argument: exit %d, want 1; stderr %q", code, stderr)
	}
	code, _, stderr := run([]byte("hello"))
	if code != 2 || stderr != "not a Go execution trace (no \"go 1.N trace\" header)\n" {
		t.Errorf("garbage: exit %d, stderr %q", code, stderr)
	}
	good, err := os.ReadFile(filepath.Join(dataDir(), "go1.27", "chan.trace"))
	if err != nil {
		t.Fatal(err)
	}
	code, _, stderr = run(good[:len(good)/2])
	if code != 2 || strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "truncated") {
		t.Errorf("truncated: exit %d, stderr %q", code, stderr)
	}
	code, stdout, stderr := run(good, "-capture-time", "1")
	if code != 0 || stderr != "" {
		t.Fatalf("good trace: exit %d, stderr %q", code, stderr)
	}
	r, err := decodeRecords(stdout)
	if err != nil || r.Summary == nil || r.Summary.Alignment != alignClockSnapshot {
		t.Errorf("good trace: %v, summary %+v", err, r.Summary)
	}
}
