// Package engine runs phase-gated workflows: it reads workflow definitions
// from disk, keeps sessions, checks each phase's evidence with its gate
// (package checkpoint) and persists every session as one JSON file.
//
// # Workflows
//
// A workflows folder holds one folder per workflow in the prAxIs OS layout:
//
//	<name>/metadata.json
//	<name>/phases/<N>/phase.md
//	<name>/phases/<N>/<task file>.md
//	<name>/phases/<N>/gate-definition.yaml
//
// Definitions are read from disk on every call that needs them and never
// cached, so an edit is live on the next Start. When Config.WorkflowsDir is
// empty the engine serves the sample workflows built into the binary
// (feature_delivery, bug_fix and spec_execution_v1). Package
// engine/workflows reads and validates the definitions; its Validate lists
// every problem in a folder for workflow authors.
//
// # Dynamic workflows
//
// A workflow whose metadata.json sets "dynamic_phases": true and a
// dynamic_config (prAxIs OS's spec_execution_v1) has its listed phases
// (phase 0) and, after them, one phase per "## Phase N" section of the
// tasks.md of the spec that the Start option named by
// dynamic_config.source_path_key (spec_path) points at. The spec path is
// resolved inside Config.ProjectDir through os.Root and its plan is cached
// by a spec.Loader, re-read when the file changes. Such a phase's content
// and tasks are the workflow's phase and task templates rendered from the
// plan (package spec); its gate is phases/<N>/gate-definition.yaml when the
// workflow has one, and otherwise the phase's validation-gate list, one
// required boolean field per item. The session keeps the spec path in its
// options, so every later call reads the same spec.
//
// # Sessions
//
// A session has a UUID, a workflow, a target file, a current phase, the
// completed phases and per-phase evidence and checkpoint status. The Engine
// holds at most one live *session object per ID in a shard.Cache, loaded
// with GetOrLoad so that concurrent first access reads the state file once;
// idle sessions leave memory after Config.SessionTTL and stay on disk.
// Mutations of a session (CompletePhase and the recovery actions Pause,
// Resume, RetryPhase and Rollback) are serialized by the session's mutex
// and every save is conditional on the version that was read (Store.Save),
// so two agents completing the same phase at once advance it exactly once,
// and of two identical recovery calls one changes the session and the
// other finds it changed (RecoveryResult.Changed). A paused session
// refuses mutations with ErrPaused until resumed.
//
// A session prAxIs OS wrote is read as it is: a spec_execution_v1 session
// finds its spec at metadata.spec_path, a session whose current phase is
// past its workflow's last phase is completed (in memory; nothing is
// saved), and one whose spec moved fails its phase reads with a FieldError
// of kind state.ErrSpecMissing, while State still answers.
//
// # State files
//
// Sessions persist through a state.Store: Config.Store, or a
// filestore.Store on Config.StateDir (package engine/filestore), which
// keeps one <session_id>.json per session, in the prAxIs OS
// field layout (session_id, workflow_type, target_file, current_phase,
// completed_phases, phase_artifacts, checkpoints, created_at, updated_at,
// metadata) plus status and version, with naive microsecond timestamps as
// prAxIs OS writes them; it reads prAxIs OS's own files, and prAxIs OS's
// WorkflowState.from_dict reads what it writes. Every
// save replaces the file atomically (temporary file, fsync, rename, fsync
// of the folder, mode 0600), so a crash leaves the previous state or the
// new one. state.Store (package engine/state, which also holds the state
// types, the codec and the errors) is the seam for another backend: Load,
// a Save conditional on the version read, Delete, List and ListPage.
// ListSessions pages through a store's sessions, newest created first, by
// keys that never move (state.ListKey), from a summary index each store
// keeps current with every save and delete, so that a page costs the page;
// RecentSessions gives completions the newest sessions with bounded work.
//
// # Shared stores
//
// A store that several processes use at once (package engine/redisstore,
// selected with --state redis://...) implements SessionStarter, so that
// Start creates one active session per (workflow_type, target_file) across
// processes, and SharedStore, so that the Engine checks a session's version
// with the store before every call and its session cache never serves an
// older one. Conflicting saves are retried on the re-read state (up to ten
// times, with a short random pause), and waiting for a session's lock ends
// with the caller's context, so a stalled store delays no call past its
// deadline.
//
// # Checks
//
// A gate may declare checks the server performs itself in
// Config.ProjectDir (package checkpoint, docs/GATES.md). When a phase
// opens, the session records it in state.Recovery.PhaseStarts (the time,
// and git's HEAD and dirtiness when the phase's gate compares with them;
// the state file keeps it under metadata "mcpflow"). CompletePhase runs the checks under the session's own lock and no
// other, so other sessions never wait for them, while a second call for
// the same session waits and is answered as a retry with the verdicts the
// phase artifact keeps: concurrent completions of one phase run a command
// once. Commands run only with Config.AllowGateCommands.
//
// # Results
//
// The results of Start, CurrentPhase, Task and CompletePhase (StartResult,
// PhaseView, TaskView, CompleteResult) are plain Go values for any caller;
// they carry no JSON tags and speak no protocol. Package server owns the
// MCP wire format: it builds each tool's JSON result from them, with the
// field names and output schemas clients see. JSON in this package is the
// state file's format only (package engine/state).
//
// All file access under the workflows and state folders goes through
// os.Root: names with "..", absolute paths, NUL bytes and symlinks that lead
// outside a folder are refused. Session IDs reach the engine as
// state.SessionID, a UUID that state.ParseSessionID checked where the ID
// entered the program; the engine does not check them again.
package engine
