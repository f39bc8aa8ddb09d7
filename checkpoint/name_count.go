//go:build countchecks

package checkpoint

import "sync/atomic"

// nameChecks counts workflow-name checks in a build with -tags countchecks.
var nameChecks atomic.Int64

func countNameCheck() { nameChecks.Add(1) }

// WorkflowNameChecks returns how many times a workflow name has been
// checked (ParseWorkflowName or ValidName). It exists only in a build with
// -tags countchecks, for the test that counts the checks of one tool call
// (server's TestWorkflowNameChecks).
func WorkflowNameChecks() int64 { return nameChecks.Load() }
