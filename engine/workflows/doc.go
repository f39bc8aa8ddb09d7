// Package workflows reads and checks workflow definitions in the prAxIs OS
// layout, one folder per workflow:
//
//	<name>/metadata.json
//	<name>/phases/<N>/phase.md
//	<name>/phases/<N>/<task file>.md
//	<name>/phases/<N>/gate-definition.yaml
//
// ParseMetadata decodes a metadata.json (its dynamic_config included) and
// names the field at fault; ReadMetadata, ReadTaskFile and Names read a
// workflows folder through an fs.FS; Validate and ValidateFS list every
// problem of a folder for workflow authors, and List describes each
// workflow with its problems. The sample workflows built into the binary
// (feature_delivery, bug_fix and spec_execution_v1) are the folders beside
// this package's code, served by BuiltinWorkflows.
//
// Nothing here keeps sessions or state, so every function is safe for
// concurrent use: package engine runs the workflows (and caches each
// parsed metadata.json; a *Metadata it shares must not be modified), and
// `mcpflow workflows` lists and validates them with this package alone.
// docs/engine.md describes the layout and dynamic workflows in detail.
package workflows
