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
// (feature_delivery and bug_fix). Validate lists every problem in a folder
// for workflow authors.
//
// # Sessions
//
// A session has a UUID, a workflow, a target file, a current phase, the
// completed phases and per-phase evidence and checkpoint status. The Engine
// holds at most one live *session object per ID in a shard.Cache, loaded
// with GetOrLoad so that concurrent first access reads the state file once;
// idle sessions leave memory after Config.SessionTTL and stay on disk.
// Mutations of a session are serialized by the session's mutex and every
// save is conditional on the version that was read (Store.Save), so two
// agents completing the same phase at once advance it exactly once.
//
// All file access under the workflows and state folders goes through
// os.Root: names with "..", absolute paths, NUL bytes and symlinks that lead
// outside a folder are refused.
package engine
