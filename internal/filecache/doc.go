// Package filecache caches what a parse function makes of small files that
// users edit while the server runs: gate definitions, spec plans and
// workflow metadata.json files.
//
// A Cache serves a parsed value without touching the file system until its
// Recheck period has passed since the file was last looked at (with
// Recheck 0, as for metadata.json, it looks on every call). Then one
// caller opens the file and compares its stamp (modification time, size,
// and whether it exists) with the stamp the cached value was parsed from:
// an unchanged file is not read again, a changed one is parsed exactly once.
// An edit is therefore served at most Recheck after it is written.
//
// A Cache is safe for concurrent use by multiple goroutines without
// additional locking; the callers that ask for a key while its file is
// looked at wait for that look and share its result, and parsing runs
// outside every lock, so a slow file delays only its own key.
// docs/ARCHITECTURE.md's cache table lists the caches built on it.
package filecache
