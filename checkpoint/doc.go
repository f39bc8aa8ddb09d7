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
// ParseGate turns the YAML into a Gate, naming the field of every problem.
// Validate checks evidence against a Gate and returns a Result that says
// whether the checkpoint passed, what failed, and how to fix it. A Loader
// caches parsed gates per (workflow, phase) in a shard.Cache and notices
// edits to the YAML by a stamp of the file's modification time and size,
// parsing each version of a file once however many goroutines ask.
package checkpoint
