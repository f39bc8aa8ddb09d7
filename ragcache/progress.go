package ragcache

import "context"

// ProgressFunc receives the progress of an index build: done of total
// steps (one per markdown file read, and one for building the index), with
// a line saying what was just done. done grows by one each call and ends
// at total.
type ProgressFunc func(done, total int, message string)

type progressKey struct{}

// WithProgress returns a copy of ctx that makes Reindex report its
// progress to fn, on the goroutine that runs Reindex.
func WithProgress(ctx context.Context, fn ProgressFunc) context.Context {
	return context.WithValue(ctx, progressKey{}, fn)
}

// progressFrom returns the ProgressFunc ctx carries, or a no-op.
func progressFrom(ctx context.Context) ProgressFunc {
	if fn, ok := ctx.Value(progressKey{}).(ProgressFunc); ok && fn != nil {
		return fn
	}
	return func(int, int, string) {}
}

// Rebuilding reports whether a Reindex is building a new index at this
// moment. Searches keep being answered from the current index meanwhile.
func (ix *Index) Rebuilding() bool { return ix.building.Load() }
