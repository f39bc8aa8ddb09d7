// Package storetest is the contract of state.Store as a test suite: every
// implementation (the FileStore, the Redis store) runs the same tests, so
// that the engine may rely on the same behaviour from each.
//
// Run checks one store at a time: versions, conflicts, not-found and
// invalid-argument errors, isolation of the states handed in and out,
// List, cancelled contexts, and concurrent saves of one session (exactly
// one wins) and of many sessions (all win). RunShared checks two handles
// on the same data, as two processes would hold: a save through one is
// seen by the other, and the version check holds across them.
package storetest
