// Package filestore is the state-file store: a state.Store that keeps one
// <session_id>.json per session in one folder, in prAxIs OS's field
// layout, so that prAxIs OS and mcpflow read each other's files.
//
// A save is atomic and durable (temporary file, fsync, rename, fsync of
// the folder); a lock file makes a save's version check and its rename
// one step for every Store on the folder, in any process. A summary index,
// kept current by this store's saves and deletes and by a journal of
// other processes' changes, serves list pages at the cost of the page.
// LockStateDir is the lock a server holds on the folder it serves, so
// that two servers never run on one folder.
//
// New opens a folder for a server; OpenShared opens one that a running
// server may be using (the command line). The engine opens a Store
// itself on engine.Config.StateDir.
package filestore
