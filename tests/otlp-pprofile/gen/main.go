// Builds OTLP profiles with the Collector's own pdata/pprofile package (the code
// the Collector's OTLP exporter marshals with) and POSTs them to meanwhiled's
// /v1development/profiles, once as protobuf and once as JSON, then decodes each
// answer with pprofileotlp.ExportResponse. One profile of two sample types
// (samples/count and cpu/nanoseconds, as a Go CPU profile is split), one
// sample linked to -span of -trace (main.work called by main.main) and one not
// (main.main alone). Prints one JSON line per post: {"encoding", "status",
// "rejected", "message"}.
package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pprofile"
	"go.opentelemetry.io/collector/pdata/pprofile/pprofileotlp"
)

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func build(service, instance, traceHex, spanHex string, linked, plain [2]int64) pprofile.Profiles {
	p := pprofile.NewProfiles()
	d := p.Dictionary()
	d.StringTable().Append("", "samples", "count", "cpu", "nanoseconds", "main.work", "main.go", "main.main")
	d.MappingTable().AppendEmpty()
	d.AttributeTable().AppendEmpty()
	d.FunctionTable().AppendEmpty()
	for _, name := range []int32{5, 7} {
		f := d.FunctionTable().AppendEmpty()
		f.SetNameStrindex(name)
		f.SetFilenameStrindex(6)
	}
	d.LocationTable().AppendEmpty()
	for i, line := range []int64{12, 3} {
		ln := d.LocationTable().AppendEmpty().Lines().AppendEmpty()
		ln.SetFunctionIndex(int32(i + 1))
		ln.SetLine(line)
	}
	d.StackTable().AppendEmpty()
	d.StackTable().AppendEmpty().LocationIndices().Append(1, 2)
	d.StackTable().AppendEmpty().LocationIndices().Append(2)
	d.LinkTable().AppendEmpty()
	lk := d.LinkTable().AppendEmpty()
	var tid pcommon.TraceID
	var sid pcommon.SpanID
	_, err := hex.Decode(tid[:], []byte(traceHex))
	must(err)
	_, err = hex.Decode(sid[:], []byte(spanHex))
	must(err)
	lk.SetTraceID(tid)
	lk.SetSpanID(sid)

	rp := p.ResourceProfiles().AppendEmpty()
	rp.Resource().Attributes().PutStr("service.name", service)
	rp.Resource().Attributes().PutStr("service.instance.id", instance)
	sp := rp.ScopeProfiles().AppendEmpty()
	sp.Scope().SetName("meanwhile-otlp-pprofile-test")
	now := pcommon.NewTimestampFromTime(time.Now())
	for k, typ := range [][2]int32{{1, 2}, {3, 4}} {
		pr := sp.Profiles().AppendEmpty()
		pr.SampleType().SetTypeStrindex(typ[0])
		pr.SampleType().SetUnitStrindex(typ[1])
		pr.PeriodType().SetTypeStrindex(3)
		pr.PeriodType().SetUnitStrindex(4)
		pr.SetPeriod(10_000_000)
		pr.SetTime(now)
		pr.SetDurationNano(uint64(time.Second))
		pr.SetProfileID(pprofile.ProfileID{0x0b, 0xad, 0xc0, 0xde, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, byte(k)})
		s := pr.Samples().AppendEmpty()
		s.SetStackIndex(1)
		s.SetLinkIndex(1)
		s.Values().Append(linked[k])
		s = pr.Samples().AppendEmpty()
		s.SetStackIndex(2)
		s.Values().Append(plain[k])
	}
	return p
}

func post(url, ctype string, body []byte, decode func([]byte) (pprofileotlp.ExportResponse, error)) map[string]any {
	resp, err := http.Post(url, ctype, bytes.NewReader(body))
	must(err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	must(err)
	out := map[string]any{"encoding": ctype, "status": resp.StatusCode}
	if resp.StatusCode != 200 {
		out["message"] = string(b)
		return out
	}
	r, err := decode(b)
	if err != nil {
		out["decode_error"] = err.Error()
		return out
	}
	out["rejected"] = r.PartialSuccess().RejectedProfiles()
	out["message"] = r.PartialSuccess().ErrorMessage()
	return out
}

func main() {
	url := flag.String("url", "", "meanwhiled's /v1development/profiles")
	service := flag.String("service", "pprofile-shop", "service.name")
	trace := flag.String("trace", "", "trace id (hex)")
	spanPB := flag.String("span-pb", "", "span id the protobuf request links to")
	spanJSON := flag.String("span-json", "", "span id the JSON request links to")
	flag.Parse()
	linked, plain := [2]int64{5, 50_000_000}, [2]int64{2, 20_000_000}
	enc := json.NewEncoder(os.Stdout)

	pb, err := pprofileotlp.NewExportRequestFromProfiles(build(*service, "pb", *trace, *spanPB, linked, plain)).MarshalProto()
	must(err)
	must(enc.Encode(post(*url, "application/x-protobuf", pb, func(b []byte) (pprofileotlp.ExportResponse, error) {
		r := pprofileotlp.NewExportResponse()
		return r, r.UnmarshalProto(b)
	})))
	js, err := pprofileotlp.NewExportRequestFromProfiles(build(*service, "json", *trace, *spanJSON, linked, plain)).MarshalJSON()
	must(err)
	must(enc.Encode(post(*url, "application/json", js, func(b []byte) (pprofileotlp.ExportResponse, error) {
		r := pprofileotlp.NewExportResponse()
		return r, r.UnmarshalJSON(b)
	})))
}
