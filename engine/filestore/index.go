package filestore

import (
	"context"
	"encoding/binary"
	"errors"
	"io/fs"
	"slices"
	"sync"

	"github.com/mcpflow/mcpflow/engine/state"
)

// summaryIndex is the summary of every session of a Store's folder, in
// listing order (state.ListKey), so that a page of list_sessions costs the
// page and not the folder.
//
// A summaryIndex is safe for concurrent use by multiple goroutines: every
// method takes mu. Summaries are stored whole and never modified in
// place; page copies what it returns.
type summaryIndex struct {
	mu sync.RWMutex
	// byID holds every indexed session; all, active, completed, failed
	// and paused hold the keys of every session, of the active ones, of
	// the completed ones, of the active ones not paused whose last gate
	// attempt failed and of the paused ones, each sorted by
	// ListKey.Compare.
	byID                                   map[string]*indexEntry
	all, active, completed, failed, paused []state.ListKey
}

// indexEntry is one indexed session and the stamp of the file its
// summary was read from (the zero stamp for a file this process wrote and
// has not read since: the stamp is only used to skip re-reads).
type indexEntry struct {
	key   state.ListKey
	sum   state.SessionSummary
	stamp fileStamp
}

func newSummaryIndex() *summaryIndex {
	return &summaryIndex{byID: make(map[string]*indexEntry)}
}

// lists returns the lists a summary belongs in.
func (x *summaryIndex) lists(sum *state.SessionSummary) []*[]state.ListKey {
	switch {
	case sum.Error != "":
	case sum.Status == state.StatusActive && sum.Paused:
		return []*[]state.ListKey{&x.all, &x.active, &x.paused}
	case sum.Status == state.StatusActive && sum.GateFailed:
		return []*[]state.ListKey{&x.all, &x.active, &x.failed}
	case sum.Status == state.StatusActive:
		return []*[]state.ListKey{&x.all, &x.active}
	case sum.Status == state.StatusCompleted:
		return []*[]state.ListKey{&x.all, &x.completed}
	}
	return []*[]state.ListKey{&x.all}
}

func (x *summaryIndex) list(status state.Status) []state.ListKey {
	switch status {
	case state.StatusActive:
		return x.active
	case state.StatusCompleted:
		return x.completed
	case state.StatusGateFailed:
		return x.failed
	case state.StatusPaused:
		return x.paused
	}
	return x.all
}

// put stores sum, read from a file with stamp, replacing the session's
// previous summary.
func (x *summaryIndex) put(sum state.SessionSummary, stamp fileStamp) {
	k := state.KeyOf(&sum)
	x.mu.Lock()
	defer x.mu.Unlock()
	x.removeLocked(sum.SessionID)
	x.byID[sum.SessionID] = &indexEntry{key: k, sum: sum, stamp: stamp}
	for _, l := range x.lists(&sum) {
		i, found := slices.BinarySearchFunc(*l, k, state.ListKey.Compare)
		if !found {
			*l = slices.Insert(*l, i, k)
		}
	}
}

// load replaces the index's content with entries (one per session),
// sorting each list once: what a build from the folder does, instead of
// one sorted insertion per session.
func (x *summaryIndex) load(entries []indexEntry) {
	byID := make(map[string]*indexEntry, len(entries))
	var all, active, completed, failed, paused []state.ListKey
	for i := range entries {
		e := &entries[i]
		e.key = state.KeyOf(&e.sum)
		byID[e.sum.SessionID] = e
		all = append(all, e.key)
		switch {
		case e.sum.Error != "":
		case e.sum.Status == state.StatusActive:
			active = append(active, e.key)
			switch {
			case e.sum.Paused:
				paused = append(paused, e.key)
			case e.sum.GateFailed:
				failed = append(failed, e.key)
			}
		case e.sum.Status == state.StatusCompleted:
			completed = append(completed, e.key)
		}
	}
	for _, l := range [][]state.ListKey{all, active, completed, failed, paused} {
		slices.SortFunc(l, state.ListKey.Compare)
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	x.byID, x.all, x.active, x.completed, x.failed, x.paused = byID, all, active, completed, failed, paused
}

// remove drops the session id, if indexed.
func (x *summaryIndex) remove(id string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.removeLocked(id)
}

func (x *summaryIndex) removeLocked(id string) {
	e, ok := x.byID[id]
	if !ok {
		return
	}
	delete(x.byID, id)
	for _, l := range x.lists(&e.sum) {
		if i, found := slices.BinarySearchFunc(*l, e.key, state.ListKey.Compare); found {
			*l = slices.Delete(*l, i, i+1)
		}
	}
}

// stamp returns the stamp of the session's indexed file, and whether the
// session is indexed.
func (x *summaryIndex) stamp(id string) (fileStamp, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	e, ok := x.byID[id]
	if !ok {
		return fileStamp{}, false
	}
	return e.stamp, true
}

// len returns the number of indexed sessions.
func (x *summaryIndex) len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.byID)
}

// ids returns the indexed session IDs.
func (x *summaryIndex) ids() []string {
	x.mu.RLock()
	defer x.mu.RUnlock()
	out := make([]string, 0, len(x.byID))
	for _, k := range x.all {
		out = append(out, k.ID)
	}
	return out
}

// page returns the page q asks for; q has passed Check.
func (x *summaryIndex) page(q state.PageQuery) state.Page {
	x.mu.RLock()
	defer x.mu.RUnlock()
	l := x.list(q.Status)
	i := 0
	if q.After != nil {
		var found bool
		if i, found = slices.BinarySearchFunc(l, *q.After, state.ListKey.Compare); found {
			i++
		}
	}
	end := min(i+q.Limit, len(l))
	p := state.Page{Sessions: make([]state.SessionSummary, 0, max(end-i, 0))}
	for _, k := range l[i:max(end, i)] {
		p.Sessions = append(p.Sessions, copySummary(&x.byID[k.ID].sum))
	}
	if end < len(l) {
		next := l[end-1]
		p.Next = &next
	}
	return p
}

// snapshot returns every summary, in listing order.
func (x *summaryIndex) snapshot() []state.SessionSummary {
	x.mu.RLock()
	defer x.mu.RUnlock()
	out := make([]state.SessionSummary, 0, len(x.all))
	for _, k := range x.all {
		out = append(out, copySummary(&x.byID[k.ID].sum))
	}
	return out
}

// copySummary returns sum with its own CompletedPhases, so that the
// caller may change it.
func copySummary(sum *state.SessionSummary) state.SessionSummary {
	c := *sum
	c.CompletedPhases = append(make([]int, 0, len(sum.CompletedPhases)), sum.CompletedPhases...)
	return c
}

// ---- keeping the index current ----
//
// This process's Saves and Deletes update the index under the folder
// lock, right after their rename or remove. Other processes on the same
// folder are noticed through a change journal in the lock file, written
// under the same lock by every Store:
//
//	bytes 0-7: the sequence number of the last change (uint64, little endian)
//	then journalSlots slots of 36 bytes: slot seq%journalSlots holds the
//	session ID of change seq.
//
// Before answering a list, the store reads the sequence number under the
// folder lock. When it moved past the last one this store has applied, the
// store re-reads the sessions the journal names since then (or, when more
// changes happened than the journal holds, or the journal is unreadable,
// re-reads the folder: its names, and every file whose stamp changed).
// The file is not fsynced: it only needs to outlive the processes, which
// rebuild their indexes from the folder when they open it.

// journalSlots is how many changes the journal remembers.
const journalSlots = 1024

const journalSlot = 36

// journalSeq reads the journal's sequence number; the folder lock is held.
// A short or missing header reads as 0.
func (s *Store) journalSeq() uint64 {
	var b [8]byte
	if n, _ := s.lockFile.ReadAt(b[:], 0); n < len(b) {
		return 0
	}
	return binary.LittleEndian.Uint64(b[:])
}

// journalAppend records a change of session id in the journal and returns
// its sequence number; the folder lock is held. A failed write is
// returned: the caller's change is made, but other processes would not
// hear of it.
func (s *Store) journalAppend(id string) (uint64, error) {
	seq := s.journalSeq() + 1
	if _, err := s.lockFile.WriteAt([]byte(id), 8+int64(seq%journalSlots)*journalSlot); err != nil {
		return 0, err
	}
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], seq)
	if _, err := s.lockFile.WriteAt(b[:], 0); err != nil {
		return 0, err
	}
	return seq, nil
}

// indexChanged updates the index after this process saved (sum non-nil)
// or deleted session id, and records the change in the journal; the
// session's lock and the folder lock are held.
func (s *Store) indexChanged(id string, sum *state.SessionSummary, stamp fileStamp) {
	if sum != nil {
		s.index.put(*sum, stamp)
	} else {
		s.index.remove(id)
	}
	seq, err := s.journalAppend(id)
	if err != nil {
		// Other processes do not hear of this change; this one re-reads
		// the folder at its next list, in case the journal is damaged.
		s.rescan = true
		return
	}
	if s.synced == seq-1 {
		s.synced = seq
	}
}

// syncIndex brings the index up to date with the changes other processes
// made; see "keeping the index current".
func (s *Store) syncIndex(ctx context.Context) error {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	unlock, err := s.lockFolder()
	if err != nil {
		return state.Errorf(nil, "state folder %s: lock: %w", s.dir, err)
	}
	seq, from, full := s.journalSeq(), s.synced, s.rescan
	s.rescan = false
	var ids []string
	full = full || seq < from || seq-from > journalSlots
	if !full && seq != from {
		buf := make([]byte, journalSlot)
		for n := from + 1; n <= seq; n++ {
			if _, err := s.lockFile.ReadAt(buf, 8+int64(n%journalSlots)*journalSlot); err != nil {
				full = true
				break
			}
			id, ok := isStateFile(string(buf) + ".json")
			if !ok {
				full = true
				break
			}
			ids = append(ids, id)
		}
	}
	unlock()
	if seq == from && !full {
		s.indexStats.RecordHit()
		return nil
	}
	s.indexStats.RecordMiss()
	if full {
		if err := s.rescanFolder(ctx); err != nil {
			s.folderMu.Lock()
			s.rescan = true
			s.folderMu.Unlock()
			return err
		}
	} else {
		for _, id := range ids {
			if err := ctx.Err(); err != nil {
				return err
			}
			s.refresh(id)
		}
	}
	s.folderMu.Lock()
	if s.synced == from {
		s.synced = seq
	}
	s.folderMu.Unlock()
	return nil
}

// rescanFolder reads the folder's names and re-reads every session whose
// file appeared, vanished or changed.
func (s *Store) rescanFolder(ctx context.Context) error {
	entries, err := fs.ReadDir(s.root.FS(), ".")
	if err != nil {
		return state.Errorf(nil, "state folder %s: %w", s.dir, err)
	}
	present := make(map[string]bool, len(entries))
	for _, e := range entries {
		id, ok := isStateFile(e.Name())
		if !ok {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		present[id] = true
		s.refresh(id)
	}
	for _, id := range s.index.ids() {
		if !present[id] {
			s.refresh(id)
		}
	}
	return nil
}

// refresh makes the index entry of session id match its file, under the
// session's lock: removed when the file is gone (or is not a regular
// file), re-read when its stamp differs from the indexed one.
func (s *Store) refresh(id string) {
	mu := s.lock(id)
	mu.Lock()
	defer mu.Unlock()
	s.refreshLocked(id)
}

// refreshLocked is refresh with the session's lock held.
func (s *Store) refreshLocked(id string) {
	for range 3 {
		// A name that is not a regular file (a folder, a pipe) stays
		// listed, as that session's error, until Delete removes it.
		fi, err := s.root.Lstat(id + ".json")
		if err != nil {
			s.index.remove(id)
			return
		}
		stamp := stampOf(fi)
		if have, ok := s.index.stamp(id); ok && have == stamp {
			return
		}
		st, _, err := s.read(id)
		s.indexStats.RecordLoad()
		if errors.Is(err, state.ErrNotFound) {
			s.index.remove(id)
			return
		}
		// The summary is the file's only if the file did not change
		// while it was read; otherwise read it again.
		if fi2, serr := s.root.Stat(id + ".json"); serr != nil || stampOf(fi2) != stamp {
			continue
		}
		if err != nil {
			s.indexStats.RecordLoadError()
			s.index.put(state.SessionSummary{SessionID: id, CompletedPhases: []int{}, Error: err.Error()}, stamp)
			return
		}
		s.index.put(state.Summarize(st), stamp)
		return
	}
	// A file rewritten faster than it can be read: leave the entry for
	// the next change to settle.
}

// ListPage returns a page of the folder's sessions from the store's
// summary index, after applying the changes other processes made (see
// state.Store.ListPage). The summaries are those of the files as of the
// call: a change by any Store on the folder, in any process, that
// returned before ListPage was called is seen. A file changed by other
// means (a person, another program) is seen when that session is next
// loaded, when the journal makes the store re-read the folder, or when
// the folder is opened again.
func (s *Store) ListPage(ctx context.Context, q state.PageQuery) (state.Page, error) {
	if err := q.Check(); err != nil {
		return state.Page{}, err
	}
	if err := ctx.Err(); err != nil {
		return state.Page{}, err
	}
	if err := s.syncIndex(ctx); err != nil {
		return state.Page{}, err
	}
	return s.index.page(q), nil
}

// List returns every summary of the index, in listing order, after
// applying the changes other processes made. See Store.List.
func (s *Store) List(ctx context.Context) ([]state.SessionSummary, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := s.syncIndex(ctx); err != nil {
		return nil, err
	}
	return s.index.snapshot(), nil
}

// buildIndex reads every state file of the folder into the index; called
// once, by New, before any other goroutine can use the store.
// Changes made by other processes from here on are in the journal after
// the sequence number it starts from. Each entry's stamp is the stamp of
// the file read (read records it); a file that does not decode keeps the
// zero stamp, so that the next re-read of the folder reads it again.
func (s *Store) buildIndex() error {
	unlock, err := s.lockFolder()
	if err != nil {
		return state.Errorf(nil, "state folder %s: lock: %w", s.dir, err)
	}
	seq := s.journalSeq()
	unlock()
	dir, err := fs.ReadDir(s.root.FS(), ".")
	if err != nil {
		return state.Errorf(nil, "state folder %s: %w", s.dir, err)
	}
	entries := make([]indexEntry, 0, len(dir))
	for _, d := range dir {
		id, ok := isStateFile(d.Name())
		if !ok {
			continue
		}
		st, _, err := s.read(id)
		s.indexStats.RecordLoad()
		switch {
		case errors.Is(err, state.ErrNotFound):
			continue // removed since ReadDir
		case err != nil:
			s.indexStats.RecordLoadError()
			entries = append(entries, indexEntry{sum: state.SessionSummary{SessionID: id, CompletedPhases: []int{}, Error: err.Error()}})
		default:
			k, _ := s.known.Load(id)
			entries = append(entries, indexEntry{sum: state.Summarize(st), stamp: k.stamp})
		}
	}
	s.index.load(entries)
	s.synced = seq
	return nil
}

// adopt indexes a session that Load found but the index does not hold (a
// file put in the folder by other means than a Store).
func (s *Store) adopt(id string) {
	if _, ok := s.index.stamp(id); !ok {
		s.refresh(id)
	}
}
