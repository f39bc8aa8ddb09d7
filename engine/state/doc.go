// Package state is a session's persisted state and the contract of the
// stores that keep it: the SessionState type and its summary, the Version
// a conditional save checks, the Store interface with its shared-store
// extensions (SharedStore, SessionStarter), the state-file codec that
// every store writes (EncodeState, DecodeState: the prAxIs OS layout plus
// status and version), SessionID (a session ID that ParseSessionID
// checked once, where it entered the program), DeepCopy, and the errors
// every layer above wraps (ErrNotFound, ErrInvalidArgument, ...,
// FieldError).
//
// The state types are plain values with no locking of their own: a
// SessionState is used by one goroutine at a time, and the engine
// serializes each session's. Store implementations must be safe for
// concurrent use by multiple goroutines, and a Save is atomic and
// conditional on the version read (see Store).
//
// It imports only internal/jsonvalue of this module, so that the engine
// and every store
// (packages engine/filestore and engine/redisstore) depend on it and not on
// each other. docs/state.md describes the state file's format and the
// stores.
package state
