// Before Go 1.25 the runtime has no flight recorder: StartFlightRecorder says
// so once and returns a recorder that does nothing.

//go:build !go1.25

package meanwhile

import "time"

// startSource returns no source: there is none to start.
func startSource(time.Duration, uint64) (windowSource, error) { return nil, nil }
