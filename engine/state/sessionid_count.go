//go:build countchecks

package state

import "sync/atomic"

// parses counts ParseSessionID calls in a build with -tags countchecks.
var parses atomic.Int64

func countParse() { parses.Add(1) }

// SessionIDParses returns how many times ParseSessionID has run. It
// exists only in a build with -tags countchecks, for the test that counts
// the checks of one tool call (server's TestCompletePhaseChecksSessionID).
func SessionIDParses() int64 { return parses.Load() }
