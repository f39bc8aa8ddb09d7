package server

import (
	"context"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// promptSettle is how long after the first change in the workflows folder
// the prompts are re-read, whatever changes follow: an editor's burst of
// writes gives one re-read, and a file rewritten without pause cannot
// postpone it.
const promptSettle = 200 * time.Millisecond

// watchWorkflows follows Config.WorkflowsDir: a change in it, or in one
// of its workflow folders, re-reads the prompts, and a changed list sends
// notifications/prompts/list_changed (to the sessions of the earlier
// protocol versions, and to the subscriptions/listen streams that opted
// into it). Without the watcher, the list is still re-read before every
// prompts request. stop ends the watcher and waits for it.
func (s *Server) watchWorkflows() (stop func(), err error) {
	root := s.cfg.WorkflowsDir
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	if err := w.Add(root); err != nil {
		_ = w.Close()
		return nil, err
	}
	if entries, err := os.ReadDir(root); err == nil {
		for _, e := range entries {
			if e.IsDir() {
				_ = w.Add(filepath.Join(root, e.Name()))
			}
		}
	}
	done := make(chan struct{})
	fire := make(chan struct{}, 1)
	go func() {
		defer close(done)
		scheduled := false
		for {
			select {
			case ev, ok := <-w.Events:
				if !ok {
					return
				}
				if ev.Has(fsnotify.Create) && filepath.Dir(ev.Name) == filepath.Clean(root) {
					if fi, err := os.Lstat(ev.Name); err == nil && fi.IsDir() {
						_ = w.Add(ev.Name)
					}
				}
				if !scheduled {
					scheduled = true
					time.AfterFunc(promptSettle, func() {
						select {
						case fire <- struct{}{}:
						default:
						}
					})
				}
			case <-fire:
				scheduled = false
				s.syncPrompts(context.Background())
			case err, ok := <-w.Errors:
				if !ok {
					return
				}
				s.log.Warn("prompts: watching the workflows folder", "folder", root, "err", err)
			}
		}
	}()
	return func() {
		_ = w.Close()
		<-done
	}, nil
}
