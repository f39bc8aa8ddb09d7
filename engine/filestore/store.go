package filestore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"sync"

	"github.com/cespare/xxhash/v2"
	"github.com/puzpuzpuz/xsync/v4"

	"github.com/mcpflow/mcpflow/engine/state"
	"github.com/mcpflow/mcpflow/internal/regfile"
	"github.com/mcpflow/mcpflow/metrics"
)

// tempPrefix starts the name of every temporary file Store writes;
// New removes leftovers of a crash.
const tempPrefix = ".tmp-"

// lockFileName is the file Stores on one folder lock to make a save's
// version check and rename one step across processes.
const lockFileName = ".mcpflow.lock"

// Store is a state.Store that keeps one JSON file per session,
// <session_id>.json, in one folder.
//
// A Store is safe for concurrent use by multiple goroutines without
// additional locking. Create one with New; the zero Store is
// not usable and a Store must not be copied after first use.
//
// Save is atomic and durable: it writes a temporary file in the same
// folder with mode 0600, fsyncs it, renames it over the session's file and
// fsyncs the folder, so after a crash at any instant the file holds either
// the previous state or the new one, and a Save that returned survives a
// power loss. Saves and Deletes of one session are serialized within the
// process, and the version check and the rename of every Save (and every
// Delete) happen under a lock on the folder's .mcpflow.lock file, so that
// several processes may share one state folder: of concurrent Saves of a
// session at one version, in any processes, exactly one wins. The lock is
// held only for the check and the rename, not for the write and fsync of
// the temporary file. (On platforms without flock the lock holds within
// the process only.)
//
// Every file access goes through an os.Root on the folder, and session IDs
// are checked as UUIDs before any file name is built from them.
//
// ListPage is served from a summary index in memory, read from the folder
// once by New and updated by every Save and Delete under the
// folder lock, so a page costs the page. Changes made by other Stores
// on the folder, in any process, are read from a change journal kept in
// the lock file before each page: a page reflects every Save and Delete,
// by any Store, that returned before ListPage was called. Files
// changed by other means (a person, a copy, an older mcpflow) are indexed
// when the session is loaded, when the journal sends the store back to the
// folder, or when the folder is opened again; until then a page may show
// such a session's previous summary, or miss a file put there by hand.
type Store struct {
	root *os.Root
	dir  string
	// locks serializes Save and Delete per session: a session's lock is
	// locks[xxhash(id) % len].
	locks [64]sync.Mutex
	// noSync skips both fsyncs (SetNoSync). Set before first use only.
	noSync bool
	// stage, when set, is called at each step of a replace; the crash test
	// uses it to kill the process at chosen points.
	stage func(step string)
	// lockFile is the folder's lock file, flocked by lockFolder; folderMu
	// excludes this process's own goroutines, which flock does not.
	lockFile *os.File
	folderMu sync.Mutex
	// known remembers, per session, the version of the file this store
	// last wrote or read and that file's stamp, so that Save can check
	// the version with a stat instead of reading and decoding the file.
	// Any other stamp (a file written by someone else) means a full read.
	known *xsync.Map[string, knownFile]
	// knownStats counts the stat-only version checks known answered
	// (hits) and those that fell back to reading the file (misses);
	// indexStats counts the index's lists and reads (Metrics).
	knownStats, indexStats *metrics.Counters
	// maxBytes is the largest state file read and written:
	// state.MaxStateFileBytes, lowered only by tests.
	maxBytes int

	// index holds every session's summary for ListPage (index.go).
	index *summaryIndex
	// syncMu serializes syncIndex. synced is the journal sequence number
	// up to which the index holds every change, and rescan is set when
	// the index must re-read the folder; both are guarded by folderMu.
	syncMu sync.Mutex
	synced uint64
	rescan bool
}

// knownFile is a version of a session's file and the stamp of the file
// that held it.
type knownFile struct {
	ver   state.Version
	stamp fileStamp
}

// fileStamp identifies one version of a file: a replace through rename
// always changes the inode, an in-place write changes size or time.
type fileStamp struct {
	ino, size, mod int64
}

func stampOf(fi fs.FileInfo) fileStamp {
	return fileStamp{ino: inodeOf(fi), size: fi.Size(), mod: fi.ModTime().UnixNano()}
}

// New opens (creating it with mode 0700 if needed) the folder dir
// and removes the temporary files a crash may have left there.
func New(dir string) (*Store, error) {
	if dir == "" {
		return nil, state.Errorf(state.ErrInvalidArgument, "state folder is empty; set Config.StateDir (for example .mcpflow/state)")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, state.Errorf(nil, "state folder %s: %w", dir, err)
	}
	return open(dir, true)
}

// OpenShared opens the existing folder dir for a process that shares it
// with a running server (the command line): unlike New it creates
// no folder and leaves temporary files alone, since they may be the
// server's saves in flight.
func OpenShared(dir string) (*Store, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, state.Errorf(state.ErrNotFound, "state folder %s: %w", dir, err)
	}
	if !fi.IsDir() {
		return nil, state.Errorf(state.ErrInvalidArgument, "state folder %s is not a folder", dir)
	}
	return open(dir, false)
}

// SetNoSync makes s skip both fsyncs of a save, for tests and benchmarks
// that measure or exercise the rest: a save stays atomic (a rename), but
// one acknowledged just before a power loss may be lost. It must be
// called before s is first used.
func (s *Store) SetNoSync(skip bool) { s.noSync = skip }

func open(dir string, cleanup bool) (*Store, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, state.Errorf(nil, "state folder %s: %w", dir, err)
	}
	lf, err := root.OpenFile(lockFileName, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		_ = root.Close()
		return nil, state.Errorf(nil, "state folder %s: lock file: %w", dir, err)
	}
	s := &Store{root: root, dir: dir, lockFile: lf, known: xsync.NewMap[string, knownFile](),
		knownStats: metrics.NewCounters(), indexStats: metrics.NewCounters(), maxBytes: state.MaxStateFileBytes, index: newSummaryIndex()}
	entries, err := fs.ReadDir(root.FS(), ".")
	if err != nil {
		_ = lf.Close()
		_ = root.Close()
		return nil, state.Errorf(nil, "state folder %s: %w", dir, err)
	}
	for _, e := range entries {
		if cleanup && strings.HasPrefix(e.Name(), tempPrefix) && e.Type().IsRegular() {
			_ = root.Remove(e.Name())
		}
	}
	if err := s.buildIndex(); err != nil {
		_ = lf.Close()
		_ = root.Close()
		return nil, err
	}
	return s, nil
}

// Close releases the folder. The Store must not be used afterwards.
func (s *Store) Close() error {
	return errors.Join(s.lockFile.Close(), s.root.Close())
}

func (s *Store) lock(id string) *sync.Mutex {
	return &s.locks[xxhash.Sum64String(id)%uint64(len(s.locks))]
}

// Store is a state.SharedStore: LoadNewer answers from a stat.
var _ state.SharedStore = (*Store)(nil)

// Load reads the session's file. See Store.Load.
func (s *Store) Load(ctx context.Context, id string) (*state.SessionState, state.Version, error) {
	sid, err := state.ParseSessionID(id)
	if err != nil {
		return nil, 0, err
	}
	id = sid.String()
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	st, ver, err := s.read(id)
	if err == nil || errors.Is(err, state.ErrCorrupt) {
		s.adopt(id)
	}
	return st, ver, err
}

// LoadNewer is Load for a caller that holds version have of the session:
// when the session's file is still the one this store last read or wrote
// at version have (same inode, size and modification time: one stat), it
// returns a nil state and have without reading the file. A file another
// process replaced since (a server and the command line sharing the
// folder) is read. See state.SharedStore.
func (s *Store) LoadNewer(ctx context.Context, sid state.SessionID, have state.Version) (*state.SessionState, state.Version, error) {
	id := sid.String()
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	fi, err := s.root.Stat(id + ".json")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, state.NoSession(id, "")
	}
	if err == nil {
		if k, ok := s.known.Load(id); ok && k.ver == have && k.stamp == stampOf(fi) {
			s.knownStats.RecordHit()
			return nil, have, nil
		}
	}
	s.knownStats.RecordMiss()
	return s.read(id)
}

func (s *Store) read(id string) (*state.SessionState, state.Version, error) {
	name := id + ".json"
	// Only a regular file is read: a named pipe would block the read
	// forever, and a folder is no state file. Either is this session's
	// corruption, which Delete removes.
	f, err := regfile.Open(s.root, name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, state.NoSession(id, "")
	}
	if errors.Is(err, regfile.ErrNotRegular) {
		return nil, 0, notAFile(id, name, err)
	}
	if err != nil {
		return nil, 0, state.Errorf(nil, "session_id %s: open state file: %w", id, err)
	}
	defer func() { _ = f.Close() }()
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		return nil, 0, notAFile(id, name, errors.New("it is a folder"))
	}
	data, err := io.ReadAll(io.LimitReader(f, int64(s.maxBytes)+1))
	if err != nil {
		return nil, 0, state.Errorf(nil, "session_id %s: read state file: %w", id, err)
	}
	if len(data) > s.maxBytes {
		return nil, 0, state.Errorf(state.ErrCorrupt, "session_id %s: state file %s is larger than %d bytes; delete the session", id, name, s.maxBytes)
	}
	st, ver, err := state.DecodeState(data)
	if err == nil && st.SessionID == id {
		if fi, serr := f.Stat(); serr == nil {
			s.known.Store(id, knownFile{ver: ver, stamp: stampOf(fi)})
		}
	}
	if err != nil {
		return nil, 0, &state.FieldError{Kind: state.ErrCorrupt, Field: "session_id", Value: id, Problem: "state file " + name,
			Err: fmt.Errorf("%w; the session can be deleted, or its file restored", err)}
	}
	if st.SessionID != id {
		return nil, 0, state.Errorf(state.ErrCorrupt, "session_id %s: state file %s holds session_id %q; delete the session or rename the file", id, name, st.SessionID)
	}
	return st, ver, nil
}

// notAFile is the error for a session whose state file is not a regular
// file.
func notAFile(id, name string, err error) error {
	return &state.FieldError{Kind: state.ErrCorrupt, Field: "session_id", Value: id, Problem: "state file " + name + " is not a regular file",
		Err: fmt.Errorf("%w; the session can be deleted", err)}
}

// Save writes st atomically if the file's version is still expected. See
// Store.Save.
func (s *Store) Save(ctx context.Context, st *state.SessionState, expected state.Version) (state.Version, error) {
	sid, err := state.ParseSessionID(st.SessionID)
	if err != nil {
		return 0, err
	}
	id := sid.String()
	if id != st.SessionID {
		return 0, state.Errorf(state.ErrInvalidArgument, "session_id %q is not in canonical form %q", st.SessionID, id)
	}
	if expected < 0 {
		return 0, state.Errorf(state.ErrInvalidArgument, "expected version must be 0 or more, got %d", expected)
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	mu := s.lock(id)
	mu.Lock()
	defer mu.Unlock()
	// Fail early, before writing anything, when the version is already
	// wrong; the check that counts is repeated under the folder lock.
	if err := s.checkVersion(id, expected); err != nil {
		return 0, err
	}
	data, err := state.EncodeState(st, expected+1)
	if err != nil {
		return 0, state.Errorf(state.ErrInvalidArgument, "session_id %s: %w", id, err)
	}
	// A save is acknowledged only if it can be read back.
	if err := state.CheckStateSize(id, len(data), s.maxBytes); err != nil {
		return 0, err
	}
	// known may keep describing the current file until the rename: a
	// failed save leaves it true, and a stale entry never matches the
	// stamp of another file.
	tmp, stamp, err := s.writeTemp(id+".json", data)
	if err != nil {
		return 0, state.Errorf(nil, "session_id %s: save state file: %w", id, err)
	}
	sum := state.Summarize(st)
	if err := s.commit(id, expected, tmp, &sum, stamp); err != nil {
		return 0, err
	}
	s.known.Store(id, knownFile{ver: expected + 1, stamp: stamp})
	if !s.noSync {
		if err := s.syncDir(); err != nil {
			return 0, state.Errorf(nil, "session_id %s: sync state folder: %w", id, err)
		}
	}
	return expected + 1, nil
}

// checkVersion returns the error Save gives when the session's file is not
// at version expected. The session's lock is held.
func (s *Store) checkVersion(id string, expected state.Version) error {
	cur, err := s.currentVersion(id)
	if err != nil {
		return err
	}
	switch {
	case expected == 0 && cur >= 0:
		return state.Errorf(state.ErrConflict, "session_id %s: already exists", id)
	case expected > 0 && cur < 0:
		return state.Errorf(state.ErrNotFound, "session_id %s: no such session (deleted?); start a new one", id)
	case expected > 0 && cur != expected:
		return state.Errorf(state.ErrConflict, "session_id %s: state changed (version %d, expected %d); read it again and retry", id, cur, expected)
	}
	return nil
}

// commit renames the written temporary file over the session's file if the
// file is still at version expected, under the folder lock so that the
// check and the rename are one step for every Store on the folder, in
// this process or another. On success it updates the summary index with
// sum, the summary of the file of stamp tmp. On failure it removes the
// temporary file.
func (s *Store) commit(id string, expected state.Version, tmp string, sum *state.SessionSummary, stamp fileStamp) (err error) {
	defer func() {
		if err != nil {
			_ = s.root.Remove(tmp)
		}
	}()
	unlock, err := s.lockFolder()
	if err != nil {
		return state.Errorf(nil, "session_id %s: lock state folder: %w", id, err)
	}
	defer unlock()
	if err := s.checkVersion(id, expected); err != nil {
		return err
	}
	s.step("synced")
	if err := s.root.Rename(tmp, id+".json"); err != nil {
		return state.Errorf(nil, "session_id %s: save state file: %w", id, err)
	}
	s.indexChanged(id, sum, stamp)
	return nil
}

// lockFolder takes the folder lock: a mutex for this process and an
// exclusive flock on the lock file for other processes (where the platform
// has flock). It returns the function that releases both.
func (s *Store) lockFolder() (func(), error) {
	s.folderMu.Lock()
	if err := flock(s.lockFile); err != nil {
		s.folderMu.Unlock()
		return nil, err
	}
	return func() {
		_ = funlock(s.lockFile)
		s.folderMu.Unlock()
	}, nil
}

// currentVersion returns the version of the session's file, or -1 when it
// does not exist. A corrupt file counts as version 0 of an existing file,
// so only a create can fail on it, and Delete still removes it. The
// session's lock is held.
func (s *Store) currentVersion(id string) (state.Version, error) {
	fi, err := s.root.Stat(id + ".json")
	if errors.Is(err, fs.ErrNotExist) {
		s.known.Delete(id)
		return -1, nil
	}
	if err == nil {
		if k, ok := s.known.Load(id); ok && k.stamp == stampOf(fi) {
			s.knownStats.RecordHit()
			return k.ver, nil
		}
	}
	s.knownStats.RecordMiss()
	_, ver, err := s.read(id)
	switch {
	case err == nil:
		return ver, nil
	case errors.Is(err, state.ErrNotFound):
		return -1, nil
	case errors.Is(err, state.ErrCorrupt):
		return 0, nil
	default:
		return 0, err
	}
}

// writeTemp writes data to a new temporary file in the folder, named
// after name, and fsyncs it. It returns the file's name and stamp; a
// rename keeps the stamp (inode, size, modification time). On failure
// (a full disk, say) it removes the file, so nothing is left behind.
func (s *Store) writeTemp(name string, data []byte) (tmp string, stamp fileStamp, err error) {
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	// file, not the result tmp: every failure returns tmp as "", before
	// the deferred removal runs.
	file := tempPrefix + hex.EncodeToString(rnd[:]) + "-" + name
	f, err := s.root.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", stamp, err
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err, tmp = cerr, ""
		}
		if err != nil {
			_ = s.root.Remove(file)
		}
	}()
	s.step("open")
	if _, err = f.Write(data); err != nil {
		return "", stamp, err
	}
	s.step("written")
	if !s.noSync {
		if serr := f.Sync(); serr != nil {
			err = serr
			return "", stamp, err
		}
	}
	fi, err := f.Stat()
	if err != nil {
		return "", stamp, err
	}
	return file, stampOf(fi), nil
}

func (s *Store) step(name string) {
	if s.stage != nil {
		s.stage(name)
	}
}

func (s *Store) syncDir() error {
	d, err := s.root.Open(".")
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// Delete removes the session's file. See Store.Delete.
func (s *Store) Delete(ctx context.Context, id string) error {
	sid, err := state.ParseSessionID(id)
	if err != nil {
		return err
	}
	id = sid.String()
	if err := ctx.Err(); err != nil {
		return err
	}
	mu := s.lock(id)
	mu.Lock()
	defer mu.Unlock()
	unlock, err := s.lockFolder()
	if err != nil {
		return state.Errorf(nil, "session_id %s: lock state folder: %w", id, err)
	}
	s.known.Delete(id)
	err = s.root.Remove(id + ".json")
	if err != nil {
		// A folder in the state file's place (see notAFile) goes too,
		// with what it holds: the name is this session's.
		if fi, lerr := s.root.Lstat(id + ".json"); lerr == nil && fi.IsDir() {
			err = s.root.RemoveAll(id + ".json")
		}
	}
	switch {
	case err == nil:
		s.indexChanged(id, nil, fileStamp{})
	case errors.Is(err, fs.ErrNotExist):
		s.index.remove(id)
	}
	unlock()
	if errors.Is(err, fs.ErrNotExist) {
		return state.NoSession(id, "")
	}
	if err != nil {
		return state.Errorf(nil, "session_id %s: delete state file: %w", id, err)
	}
	if s.noSync {
		return nil
	}
	return s.syncDir()
}

// isStateFile returns the session ID of a state file's name, and whether
// the name is one.
func isStateFile(name string) (string, bool) {
	id, ok := strings.CutSuffix(name, ".json")
	if !ok {
		return "", false
	}
	if canon, err := state.ParseSessionID(id); err != nil || canon.String() != id {
		return "", false
	}
	return id, true
}

// Metric names of the store's caches, as Metrics reports them.
const (
	// MetricsStamps names the counters of the version stamps: the version
	// of each session file this store last wrote or read, with the file's
	// stamp, so that a version check costs a stat.
	MetricsStamps = "state_stamps"
	// MetricsSummaries names the counters of the summary index that
	// ListPage and List serve.
	MetricsSummaries = "session_summaries"
)

// Metrics returns the counters of the store's two caches.
//
// MetricsStamps: Hits counts version checks (LoadNewer, and the checks of
// Save and Delete) that a stat answered because the file's stamp was the
// one known; Misses counts those that read the file instead, because the
// stamp was unknown or another's; Entries is the number of sessions whose
// stamp is known.
//
// MetricsSummaries: Hits counts lists (ListPage, List) served from the
// index as it stood; Misses counts lists that first applied other
// processes' changes (from the journal, or by re-reading the folder);
// Loads counts state files read into the index (when the folder is
// opened, and for each change applied), LoadErrors those of them that
// failed (a file that does not decode or cannot be read), which are listed
// with their error; Entries is the number of sessions indexed.
//
// The other fields are 0. Metrics is safe to call concurrently with every
// other method; see metrics.Snapshot for how consistent one snapshot is.
func (s *Store) Metrics() map[string]metrics.Snapshot {
	stamps := s.knownStats.Snapshot()
	stamps.Entries = int64(s.known.Size())
	sums := s.indexStats.Snapshot()
	sums.Entries = int64(s.index.len())
	return map[string]metrics.Snapshot{MetricsStamps: stamps, MetricsSummaries: sums}
}
