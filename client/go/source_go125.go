// The runtime's flight recorder, in Go 1.25 and later.

//go:build go1.25

package meanwhile

import (
	rtrace "runtime/trace"
	"time"
)

// startSource starts the runtime's flight recorder.
func startSource(minAge time.Duration, maxBytes uint64) (windowSource, error) {
	fr := rtrace.NewFlightRecorder(rtrace.FlightRecorderConfig{MinAge: minAge, MaxBytes: maxBytes})
	if err := fr.Start(); err != nil {
		return nil, err
	}
	return fr, nil
}
