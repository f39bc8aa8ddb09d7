// Package checkpoint parses phase gates and checks the evidence an agent
// submits against them.
//
// A gate lives in a workflow folder at
// <workflow>/phases/<N>/gate-definition.yaml and has three parts:
//
//	checkpoint:
//	  strict: true          # errors fail the gate; false turns them into warnings
//	  allow_override: false
//	evidence_schema:
//	  tests_passed:
//	    type: integer       # boolean, integer, number, string, object or list
//	    required: true
//	    description: Number of tests that pass
//	    min: 1              # optional constraints: min, max, min_length,
//	                        # max_length, pattern, enum, min_items
//	validators: {...}       # prAxIs OS Python lambdas: never executed,
//	cross_field_validation: # each reported as an unsupported warning
//
//	checks:                 # what the server checks itself (docs/GATES.md)
//	  - kind: test_report   # files_exist, files_changed, git, test_report, command
//	    path_field: report
//	    failed_field: tests_failed
//
// ParseGate turns the YAML into a Gate, naming the field of every problem.
// As in prAxIs OS, checkpoint.strict defaults to false: a gate that does
// not say strict: true reports its errors as warnings and passes. prAxIs
// OS's type name dict is read as object. Patterns use Go's RE2 syntax.
//
// Validate checks evidence against a Gate and returns a Result that says
// whether the checkpoint passed, what failed, and how to fix it. Types are
// exact: an integer must be integral (3.0 is, 3.5 is not), a boolean is
// never a number, a list is a JSON array and an object a JSON object.
// CopyEvidence refuses evidence over a size limit (1 MiB by default) and
// copies the rest, in one walk.
// A Result is a plain Go value without JSON tags: the MCP server builds
// complete_phase's validation_result from it, with its own field names and
// output schema. Numbers are read with internal/jsonnum.
//
// A Checker performs a gate's checks in the project folder: it records a
// phase's start (OpenPhase: the time, and git's HEAD and dirtiness when
// the gate compares with them), runs the checks (Run) and Apply merges
// their verdicts into a Result. Commands run only when the Checker allows
// them, without a shell, in their own process group, killed whole at their
// timeout.
//
// A Loader caches parsed gates per (workflow, phase) in a shard.Cache and
// notices edits to the YAML by a stamp of the file's modification time and
// size, looked at once per LoaderConfig.Recheck (1 s by default): each
// version of a file is parsed once however many goroutines ask, and a
// phase without a gate file gets a permissive gate that passes with a
// warning.
package checkpoint
