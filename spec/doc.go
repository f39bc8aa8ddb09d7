// Package spec reads the tasks.md of a prAxIs OS spec into a Plan: the
// phases of the work and the tasks of each phase, which the engine serves
// as the dynamic phases of a workflow such as spec_execution_v1.
//
// Parse reads a tasks.md as people write it (phases and tasks as headings
// or list items, bold-labelled fields, validation-gate lists) and names
// the line of every error; Render fills a phase or task template's
// placeholders ([PHASE_NUMBER], [TASK_NAME], ...) from a Plan. A Loader
// caches the Plan of each tasks.md and re-reads a file when its
// modification time or size changes, looked at once per
// LoaderConfig.Recheck, as checkpoint.Loader does for gates.
//
// A Loader is safe for concurrent use by multiple goroutines without
// additional locking, and each version of a file is parsed once however
// many goroutines ask. The Plans it returns are shared between callers:
// treat them as read-only.
//
// docs/engine.md ("How a tasks.md is read") has the parsing rules in
// detail.
package spec
