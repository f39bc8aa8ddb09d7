// Package checkpoint parses phase gates (a workflow's
// phases/<N>/gate-definition.yaml) and checks the evidence an agent
// submits against them.
//
// ParseGate turns a gate's YAML into a Gate, naming the field of every
// problem; Validate checks evidence against a Gate and returns a Result
// that says whether the checkpoint passed, what failed and how to fix it;
// evidence over its caller's size limit is refused before that. A Result
// is a plain Go value without JSON tags: package server owns its wire
// form. A Checker
// performs the checks a gate declares in the project folder (files, git,
// test reports, commands), and a Loader caches parsed gates per (workflow,
// phase), re-reading a file when its modification time or size changes.
//
// Loader and Checker are safe for concurrent use by multiple goroutines
// without additional locking: each version of a gate file is parsed once
// however many goroutines ask, and a Checker holds no lock while a check
// runs, so checks of different sessions run in parallel (the engine
// serializes one session's).
//
// docs/GATES.md has the detail: the gate file's schema and its defaults
// (strict: false, as in prAxIs OS), every check, the phase's start record,
// test reports and commands.
package checkpoint
