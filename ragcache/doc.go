// Package ragcache searches a folder of markdown standards for AI coding
// agents: it chunks the files by heading with a real markdown parser, ranks
// the chunks with BM25 over English-analysed text, filters them by phase
// and tags, caches query results, and swaps in a rebuilt index when the
// folder changes.
//
// Open builds an Index from Config (the folder, or the sample standards
// built into the package); Search answers a Query with a Result of Chunks;
// Reindex rebuilds on demand and Config.Watch rebuilds after edits;
// ChunkMarkdown is the chunker on its own. Files and ReadFile serve the
// indexed files themselves.
//
// An Index is safe for concurrent use by multiple goroutines without
// additional locking. Identical concurrent queries run the index once, a
// cache hit takes no lock and allocates nothing, and a rebuild is published
// with one atomic store that synchronizes before every Search that sees
// it; no Search waits for a rebuild, and no result of an older index is
// served after the swap. The Chunks of a Result are shared between callers
// and read-only (see Chunk); its Memo, shared by every hit on the same
// cache entry, holds a value a caller derives from it (see Memo).
//
// docs/search.md has the detail: how files are chunked, phases and tags,
// what the index holds, the query cache's key and bounds, and when the
// watcher rebuilds; docs/benchmarks/search.md has the measurements.
package ragcache
