package ragcache

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"sync"

	"github.com/mcpflow/mcpflow/metrics"
	"github.com/mcpflow/mcpflow/shard"
)

// ErrNoFile is wrapped by the error ReadFile returns for a path that is not
// a file of the current index.
var ErrNoFile = errors.New("ragcache: no such standards file")

// Bounds of the file cache that serves ReadFile.
const (
	// fileCacheEntries is the most file contents kept in memory.
	fileCacheEntries = 256
	// fileCacheMaxBytes is the largest file kept in memory; larger files
	// are read from disk on every ReadFile.
	fileCacheMaxBytes = 256 << 10
)

// FileInfo describes one markdown file of an index.
type FileInfo struct {
	// Path is the file's slash-separated path relative to the standards
	// folder, as Chunk.File names it.
	Path string
	// Size is the file's length in bytes when it was indexed.
	Size int64
	// Sum is the xxhash of the file's content when it was indexed; two
	// generations hold the same content when their sums match.
	Sum uint64
}

// Change describes one rebuild attempt, for the functions registered with
// OnChange.
type Change struct {
	// Generation is the index generation now current.
	Generation uint64
	// Added, Removed and Modified list the paths of the files that appeared,
	// disappeared or changed content with this rebuild, sorted. All three
	// are empty when Err is set.
	Added, Removed, Modified []string
	// Files and Chunks count the new index's files and chunks.
	Files, Chunks int
	// Err is why the rebuild failed; the previous index stays current.
	Err error
}

// fileKey is a file cache key: a file of one generation.
type fileKey struct {
	gen  uint64
	path string
}

// changeHub holds the functions OnChange registered.
type changeHub struct {
	mu   sync.Mutex
	next int
	fns  map[int]func(Change) // guarded by mu
}

// OnChange registers fn to be called after every rebuild attempt that
// follows Open, successful or not, and returns a function that removes it.
// Calls are made one at a time, in generation order, on the goroutine that
// ran Reindex, before Reindex returns; fn must therefore be quick and must
// not call Reindex. A search that starts after fn was called sees the new
// generation.
func (ix *Index) OnChange(fn func(Change)) (remove func()) {
	h := &ix.changes
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.fns == nil {
		h.fns = map[int]func(Change){}
	}
	id := h.next
	h.next++
	h.fns[id] = fn
	return func() {
		h.mu.Lock()
		delete(h.fns, id)
		h.mu.Unlock()
	}
}

// emitChange tells every registered function about a rebuild attempt. It
// runs under buildMu, which orders the calls.
func (ix *Index) emitChange(old, cur *snapshot, err error) {
	h := &ix.changes
	h.mu.Lock()
	fns := make([]func(Change), 0, len(h.fns))
	for _, fn := range h.fns {
		fns = append(fns, fn)
	}
	h.mu.Unlock()
	if len(fns) == 0 {
		return
	}
	c := Change{Generation: cur.gen, Files: cur.files, Chunks: len(cur.chunks), Err: err}
	if err == nil && old != nil {
		c.Added, c.Removed, c.Modified = diffFiles(old.docs, cur.docs)
	}
	for _, fn := range fns {
		fn(c)
	}
}

// diffFiles compares two path-sorted file lists.
func diffFiles(old, cur []FileInfo) (added, removed, modified []string) {
	i, j := 0, 0
	for i < len(old) || j < len(cur) {
		switch {
		case j == len(cur) || (i < len(old) && old[i].Path < cur[j].Path):
			removed = append(removed, old[i].Path)
			i++
		case i == len(old) || cur[j].Path < old[i].Path:
			added = append(added, cur[j].Path)
			j++
		default:
			if old[i].Sum != cur[j].Sum || old[i].Size != cur[j].Size {
				modified = append(modified, cur[j].Path)
			}
			i++
			j++
		}
	}
	return added, removed, modified
}

// Files lists the files of the current index, sorted by path. The slice
// is shared with other callers and must not be modified.
func (ix *Index) Files() []FileInfo { return ix.cur.Load().docs }

// File returns the current index's entry for path.
func (ix *Index) File(path string) (FileInfo, bool) {
	docs := ix.cur.Load().docs
	i, ok := slices.BinarySearchFunc(docs, path, func(f FileInfo, p string) int {
		switch {
		case f.Path < p:
			return -1
		case f.Path > p:
			return 1
		}
		return 0
	})
	if !ok {
		return FileInfo{}, false
	}
	return docs[i], true
}

// ReadFile returns the content of a file of the current index and its
// entry. Only the files the index holds can be read, so no path leads
// outside the standards folder; the file itself is opened through an
// os.Root on the folder. Contents of up to 256 KiB are served from a
// shard.Cache keyed by generation and path: concurrent first reads of a
// file read it once, and a rebuild makes the next read fetch the new
// content. A path the index does not hold yields an error wrapping
// ErrNoFile.
func (ix *Index) ReadFile(ctx context.Context, path string) ([]byte, FileInfo, error) {
	if ix.closed.Load() {
		return nil, FileInfo{}, ErrClosed
	}
	gen := ix.cur.Load().gen
	fi, ok := ix.File(path)
	if !ok {
		return nil, FileInfo{}, fmt.Errorf("%w: %q", ErrNoFile, path)
	}
	if fi.Size > fileCacheMaxBytes {
		b, err := ix.readRaw(path)
		return b, fi, err
	}
	b, err := ix.fileCache.GetOrLoad(ctx, fileKey{gen: gen, path: path}, func(context.Context, fileKey) ([]byte, error) {
		return ix.readRaw(path)
	})
	return b, fi, err
}

// FileMetrics returns the counters of the cache that ReadFile serves
// file contents from: one hit, miss or coalesced wait per ReadFile of a
// file of up to 256 KiB (larger files are read each time and not
// counted); Loads counts files read into it, Evictions the contents
// dropped for its bound of 256 entries. Entries counts contents of every
// generation still held.
func (ix *Index) FileMetrics() metrics.Snapshot {
	return ix.fileCache.Metrics()
}

// readRaw reads one file of the corpus, at most MaxFileBytes.
func (ix *Index) readRaw(path string) ([]byte, error) {
	fsys, _, closeFS, err := ix.openCorpus()
	if err != nil {
		return nil, err
	}
	defer closeFS()
	f, err := fsys.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %q was removed since the last index build", ErrNoFile, path)
	}
	if err != nil {
		return nil, fmt.Errorf("ragcache: read %s: %w", path, err)
	}
	defer func() { _ = f.Close() }()
	b, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("ragcache: read %s: %w", path, err)
	}
	if len(b) > MaxFileBytes {
		return nil, fmt.Errorf("ragcache: read %s: %w", path, errTooLarge)
	}
	return b, nil
}

// newFileCache builds the cache ReadFile uses.
func newFileCache() (*shard.Cache[fileKey, []byte], error) {
	return shard.New[fileKey, []byte](shard.Config{MaxEntries: fileCacheEntries})
}
