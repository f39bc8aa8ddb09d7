// Package state is a session's persisted state and the contract of the
// stores that keep it: the SessionState type and its summary, the Version
// a conditional save checks, the Store interface with its shared-store
// extensions (SharedStore, SessionStarter), the state-file codec that
// every store writes (EncodeState, DecodeState: the prAxIs OS layout plus
// status and version), SessionID (an ID that ParseSessionID checked once,
// at the edge), DeepCopy, and the errors every layer above wraps
// (ErrNotFound, ErrInvalidArgument, ..., FieldError).
//
// It imports only internal/jsonvalue of this module, so that the engine and
// every store (packages engine/filestore and engine/redisstore) depend on
// it and not on each other.
package state
