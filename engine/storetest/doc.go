// Package storetest is the contract of state.Store as a test suite: every
// implementation (the FileStore, the Redis store) runs the same tests, so
// that the engine may rely on the same behaviour from each.
//
// Run checks one store at a time: versions, conflicts, not-found and
// invalid-argument errors, isolation of the states handed in and out,
// List, cancelled contexts, and concurrent saves of one session (exactly
// one wins) and of many sessions (all win), and, through RunPaging,
// ListPage: order, filters, arguments, and cursors that list every session
// present throughout exactly once while others are created, saved and
// deleted, also by goroutines released together. RunShared checks two
// handles on the same data, as two processes would hold: a save through
// one is seen by the other, the version check holds across them, and
// (RunSharedPaging) one's changes are in the other's pages.
package storetest
