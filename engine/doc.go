// Package engine runs phase-gated workflows: it reads workflow definitions
// in the prAxIs OS layout (package engine/workflows), keeps sessions, checks
// each phase's evidence with its gate (package checkpoint) and persists
// every session through a state.Store (package engine/filestore by
// default, engine/redisstore for replicas).
//
// Engine is the entry point: Start, CurrentPhase, Task and CompletePhase
// drive a session through its phases, Pause, Resume, RetryPhase and
// Rollback recover it, and ListSessions pages through the store. Results
// (StartResult, PhaseView, TaskView, CompleteResult) are plain Go values
// that speak no protocol; errors wrap package state's kinds and FieldError.
// Edits to workflow files and gates are live without a restart.
//
// An Engine is safe for concurrent use by multiple goroutines. It holds at
// most one live object per session; every mutation of a session runs under
// that session's lock and is saved conditionally on the version it read,
// so two agents completing the same phase at once advance it exactly once,
// and a mutation that returned is stored and synchronizes before every
// later call on that session. The Engine type's doc says how the session
// cache and shared stores keep that true across processes.
//
// docs/engine.md has the detail: how definitions are read and cached,
// dynamic workflows from a spec's tasks.md, sessions and prAxIs OS's own
// state files, shared stores and retries, gate checks, and path safety;
// docs/state.md describes the stores.
package engine
