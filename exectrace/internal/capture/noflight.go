//go:build !go1.25

// Before Go 1.25 runtime/trace has no flight recorder: no flight scenario.
package main

import (
	"bytes"
	"log"
)

const haveFlightRecorder = false

func flightRun(*bytes.Buffer) *facts { panic("no flight recorder before Go 1.25") }

func busyWindow(int, string) { log.Fatal("-busy needs Go 1.25 (runtime/trace.FlightRecorder)") }
