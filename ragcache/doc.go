// Package ragcache searches a folder of markdown standards for AI coding
// agents: it chunks the files by heading with a real markdown parser, ranks
// the chunks with BM25 over English-analysed text, filters them by phase
// and tags, caches query results so that identical concurrent queries run
// the index once, and swaps in a rebuilt index atomically when the folder
// changes.
//
// # Chunks
//
// ChunkMarkdown turns one file into chunks. Every heading at the top level
// of the document, at any level from # to ######, starts a section; the
// chunk records the file's path relative to the standards folder, the
// heading and the chain of parent headings. A heading followed directly by
// another heading has no chunk of its own; its title lives on in the
// Parents of the sections under it. Text before the first heading
// forms a chunk named after the file. A fenced code block is one block: a
// line starting with # inside it is code, not a heading, and a fence that
// is never closed runs to the end of the file, as CommonMark says. A
// section over about MaxChunkTokens tokens is split between blocks
// (paragraphs, lists, code blocks); a single paragraph that is itself too
// long is split between sentences. A code block is never split.
//
// Each chunk carries a token estimate, a phase (from "Phase N" in its own
// heading or the nearest parent heading that has one, else from a "phase"
// key in the file's front matter) and tags (from a "tags" key in the file's
// YAML front matter; without one, the name of the file's folder and the
// significant words of its headings), at most MaxFileTags of them: a file
// whose front matter lists more is indexed with the first MaxFileTags and
// a warning. The indexed text of a chunk repeats its parent headings up to
// a small bound, so a file's index costs time and memory in proportion to
// its size, whatever its tags and headings.
//
// # Index
//
// Open reads the folder recursively (files ending in .md or .markdown;
// dot-folders are skipped; files over 5 MiB are skipped with a warning;
// invalid UTF-8 is replaced, never fatal) and builds an in-memory bleve
// index with the BM25 scoring model and the English analyzer. The chunk
// texts live in the package's own slice; bleve stores nothing but its
// inverted index. With Config.Dir empty, Open indexes the sample standards
// built into the package.
//
// # Query cache
//
// Search results are cached in a shard.Cache keyed by the index generation
// and the xxhash of the canonical query (see Query.Canonical). A rebuilt
// index gets a new generation, so no result computed on an older index can
// be served after the swap, and the cache is never cleared under a lock:
// old entries simply stop being asked for and age out. A cache hit
// allocates nothing: result chunks are shared between callers, read-only
// (see Chunk).
//
// # Live reindex
//
// With Config.Watch, an fsnotify watcher follows the folder tree (new
// subfolders included). After about 500 ms without further events, or 2 s
// after the first event of a burst that does not pause, the index is
// rebuilt in the background and swapped in with one atomic
// pointer store; searches never wait for a rebuild. A failed rebuild keeps
// the current index and logs the error.
package ragcache
