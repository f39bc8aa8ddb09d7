package ragcache

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
)

// watcher rebuilds the index after changes under Config.Dir. Its goroutine
// owns the fsnotify watcher and the debounce timer; stop ends it and waits.
type watcher struct {
	fsw  *fsnotify.Watcher
	stop func()
}

// startWatcher watches every folder under Config.Dir (dot-folders
// excepted) and starts the goroutine that debounces events and rebuilds.
func (ix *Index) startWatcher() (*watcher, error) {
	newWatcher := fsnotify.NewWatcher
	if ix.hooks.newWatcher != nil {
		newWatcher = ix.hooks.newWatcher
	}
	fsw, err := newWatcher()
	if err != nil {
		return nil, err
	}
	if err := addTree(fsw, ix.cfg.Dir); err != nil {
		_ = fsw.Close()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	w := &watcher{fsw: fsw}
	w.stop = func() {
		cancel()
		_ = fsw.Close()
		<-done
	}
	go func() {
		defer close(done)
		ix.watchLoop(ctx, fsw)
	}()
	return w, nil
}

// addTree adds dir and every folder below it, dot-folders excepted. A
// folder that disappears meanwhile is ignored.
func addTree(fsw *fsnotify.Watcher, dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == dir {
				return err
			}
			return nil
		}
		if !d.IsDir() {
			return nil
		}
		if p != dir && strings.HasPrefix(d.Name(), ".") {
			return fs.SkipDir
		}
		if err := fsw.Add(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	})
}

// watchLoop rebuilds after changes in the folder: see debounce. Events
// that arrive during a rebuild wait in fsnotify's channel and start the
// next burst. A search never waits for any of this: it reads the current
// snapshot through an atomic pointer.
func (ix *Index) watchLoop(ctx context.Context, fsw *fsnotify.Watcher) {
	created := func(name string) {
		// A new folder, or a folder moved in: watch it and what it
		// holds. Files already in it are picked up by the rebuild, which
		// walks the whole tree.
		if fi, err := os.Lstat(name); err == nil && fi.IsDir() {
			if err := addTree(fsw, name); err != nil {
				ix.log.Warn("ragcache: cannot watch new folder", "path", name, "err", err)
			}
		}
	}
	rebuild := func() bool {
		err := ix.Reindex(ctx)
		gen := ix.cur.Load().gen
		switch {
		case err == nil:
			// Watch any folder whose Create event came before its
			// parent was watched; adding a watched folder again is
			// harmless.
			if err := addTree(fsw, ix.cfg.Dir); err != nil {
				ix.log.Warn("ragcache: cannot watch the standards folder", "err", err)
			}
		case errors.Is(err, ErrClosed) || ctx.Err() != nil:
			return false
		default:
			ix.log.Error("ragcache: reindex failed, keeping the current index", "generation", gen, "err", err)
		}
		if ix.hooks.afterRebuild != nil {
			ix.hooks.afterRebuild(gen, err)
		}
		return true
	}
	ix.debounce(ctx, fsw.Events, fsw.Errors, created, rebuild)
}

// debounce collects the relevant events of a burst and calls rebuild once
// per burst: when no event has come for the debounce interval
// (DefaultDebounce), or at the latest the maximum wait (DefaultMaxWait)
// after the burst's first event, so that a file rewritten without pause
// still gets reindexed. created is called with the name of each created
// entry. It returns when ctx ends, a channel closes or rebuild returns
// false.
func (ix *Index) debounce(ctx context.Context, events <-chan fsnotify.Event, errs <-chan error,
	created func(name string), rebuild func() bool,
) {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	var first time.Time // the burst's first event; zero when none is pending
	pending := func() {
		now := time.Now()
		if first.IsZero() {
			first = now
		}
		wait := ix.hooks.debounce
		if left := first.Add(ix.hooks.maxWait).Sub(now); left < wait {
			wait = max(left, 0)
		}
		timer.Reset(wait)
	}
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				return
			}
			if !ix.relevant(ev) {
				continue
			}
			if ev.Has(fsnotify.Create) {
				created(ev.Name)
			}
			pending()
		case err, ok := <-errs:
			if !ok {
				return
			}
			// An overflow loses events: rebuild to be safe.
			ix.log.Warn("ragcache: watcher error, reindexing", "err", err)
			pending()
		case <-timer.C:
			first = time.Time{}
			if !rebuild() {
				return
			}
		}
	}
}

// relevant reports whether ev can change the index: outside dot-folders,
// a change to a markdown file, a new folder, or the removal or renaming of
// anything (a removed folder leaves no trace to tell it from a file).
// Chmod alone never matters.
func (ix *Index) relevant(ev fsnotify.Event) bool {
	if ev.Op == fsnotify.Chmod {
		return false
	}
	if rel, err := filepath.Rel(ix.cfg.Dir, ev.Name); err == nil {
		for part := range strings.SplitSeq(filepath.ToSlash(rel), "/") {
			if strings.HasPrefix(part, ".") && part != "." && part != ".." {
				return false
			}
		}
	}
	switch {
	case isMarkdown(filepath.Base(ev.Name)), ev.Has(fsnotify.Remove), ev.Has(fsnotify.Rename):
		return true
	case ev.Has(fsnotify.Create):
		fi, err := os.Lstat(ev.Name)
		return err == nil && fi.IsDir()
	}
	return false
}
