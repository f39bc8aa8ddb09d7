package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/puzpuzpuz/xsync/v4"
)

// MaxStateFileBytes is the largest state file FileStore reads.
const MaxStateFileBytes = 64 << 20

// tempPrefix starts the name of every temporary file FileStore writes;
// NewFileStore removes leftovers of a crash.
const tempPrefix = ".tmp-"

// lockFileName is the file FileStores on one folder lock to make a save's
// version check and rename one step across processes.
const lockFileName = ".mcpflow.lock"

// FileStore is a Store that keeps one JSON file per session,
// <session_id>.json, in one folder.
//
// A FileStore is safe for concurrent use by multiple goroutines without
// additional locking. Create one with NewFileStore; the zero FileStore is
// not usable and a FileStore must not be copied after first use.
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
type FileStore struct {
	root *os.Root
	dir  string
	// locks serializes Save and Delete per session: a session's lock is
	// locks[xxhash(id) % len].
	locks [64]sync.Mutex
	// noSync skips both fsyncs. Set only by benchmarks that measure the
	// rest of a save.
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
	// maxBytes is the largest state file read and written:
	// MaxStateFileBytes, lowered only by tests.
	maxBytes int
}

// knownFile is a version of a session's file and the stamp of the file
// that held it.
type knownFile struct {
	ver   Version
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

// NewFileStore opens (creating it with mode 0700 if needed) the folder dir
// and removes the temporary files a crash may have left there.
func NewFileStore(dir string) (*FileStore, error) {
	if dir == "" {
		return nil, fmt.Errorf("%w: state folder is empty; set Config.StateDir (for example .mcpflow/state)", ErrInvalidArgument)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("engine: state folder %s: %w", dir, err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("engine: state folder %s: %w", dir, err)
	}
	lf, err := root.OpenFile(lockFileName, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		_ = root.Close()
		return nil, fmt.Errorf("engine: state folder %s: lock file: %w", dir, err)
	}
	s := &FileStore{root: root, dir: dir, lockFile: lf, known: xsync.NewMap[string, knownFile](), maxBytes: MaxStateFileBytes}
	entries, err := fs.ReadDir(root.FS(), ".")
	if err != nil {
		_ = lf.Close()
		_ = root.Close()
		return nil, fmt.Errorf("engine: state folder %s: %w", dir, err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), tempPrefix) && e.Type().IsRegular() {
			_ = root.Remove(e.Name())
		}
	}
	return s, nil
}

// Close releases the folder. The FileStore must not be used afterwards.
func (s *FileStore) Close() error {
	return errors.Join(s.lockFile.Close(), s.root.Close())
}

func (s *FileStore) lock(id string) *sync.Mutex {
	return &s.locks[xxhash.Sum64String(id)%uint64(len(s.locks))]
}

// Load reads the session's file. See Store.Load.
func (s *FileStore) Load(ctx context.Context, id string) (*SessionState, Version, error) {
	id, err := ParseSessionID(id)
	if err != nil {
		return nil, 0, err
	}
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	return s.read(id)
}

func (s *FileStore) read(id string) (*SessionState, Version, error) {
	name := id + ".json"
	f, err := s.root.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, noSession(id, "")
	}
	if err != nil {
		return nil, 0, fmt.Errorf("engine: session_id %s: open state file: %w", id, err)
	}
	defer func() { _ = f.Close() }()
	data, err := io.ReadAll(io.LimitReader(f, int64(s.maxBytes)+1))
	if err != nil {
		return nil, 0, fmt.Errorf("engine: session_id %s: read state file: %w", id, err)
	}
	if len(data) > s.maxBytes {
		return nil, 0, fmt.Errorf("%w: session_id %s: state file %s is larger than %d bytes; delete the session", ErrCorrupt, id, name, s.maxBytes)
	}
	st, ver, err := DecodeState(data)
	if err == nil && st.SessionID == id {
		if fi, serr := f.Stat(); serr == nil {
			s.known.Store(id, knownFile{ver: ver, stamp: stampOf(fi)})
		}
	}
	if err != nil {
		return nil, 0, &FieldError{Kind: ErrCorrupt, Field: "session_id", Value: id, Problem: "state file " + name,
			Err: fmt.Errorf("%w; the session can be deleted, or its file restored", err)}
	}
	if st.SessionID != id {
		return nil, 0, fmt.Errorf("%w: session_id %s: state file %s holds session_id %q; delete the session or rename the file", ErrCorrupt, id, name, st.SessionID)
	}
	return st, ver, nil
}

// Save writes st atomically if the file's version is still expected. See
// Store.Save.
func (s *FileStore) Save(ctx context.Context, st *SessionState, expected Version) (Version, error) {
	id, err := ParseSessionID(st.SessionID)
	if err != nil {
		return 0, err
	}
	if id != st.SessionID {
		return 0, fmt.Errorf("%w: session_id %q is not in canonical form %q", ErrInvalidArgument, st.SessionID, id)
	}
	if expected < 0 {
		return 0, fmt.Errorf("%w: expected version must be 0 or more, got %d", ErrInvalidArgument, expected)
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
	data, err := EncodeState(st, expected+1)
	if err != nil {
		return 0, fmt.Errorf("%w: session_id %s: %w", ErrInvalidArgument, id, err)
	}
	// A save is acknowledged only if it can be read back.
	if err := CheckStateSize(id, len(data), s.maxBytes); err != nil {
		return 0, err
	}
	// known may keep describing the current file until the rename: a
	// failed save leaves it true, and a stale entry never matches the
	// stamp of another file.
	tmp, stamp, err := s.writeTemp(id+".json", data)
	if err != nil {
		return 0, fmt.Errorf("engine: session_id %s: save state file: %w", id, err)
	}
	if err := s.commit(id, expected, tmp); err != nil {
		return 0, err
	}
	s.known.Store(id, knownFile{ver: expected + 1, stamp: stamp})
	if !s.noSync {
		if err := s.syncDir(); err != nil {
			return 0, fmt.Errorf("engine: session_id %s: sync state folder: %w", id, err)
		}
	}
	return expected + 1, nil
}

// checkVersion returns the error Save gives when the session's file is not
// at version expected. The session's lock is held.
func (s *FileStore) checkVersion(id string, expected Version) error {
	cur, err := s.currentVersion(id)
	if err != nil {
		return err
	}
	switch {
	case expected == 0 && cur >= 0:
		return fmt.Errorf("%w: session_id %s: already exists", ErrConflict, id)
	case expected > 0 && cur < 0:
		return fmt.Errorf("%w: session_id %s: no such session (deleted?); start a new one", ErrNotFound, id)
	case expected > 0 && cur != expected:
		return fmt.Errorf("%w: session_id %s: state changed (version %d, expected %d); read it again and retry", ErrConflict, id, cur, expected)
	}
	return nil
}

// commit renames the written temporary file over the session's file if the
// file is still at version expected, under the folder lock so that the
// check and the rename are one step for every FileStore on the folder, in
// this process or another. On failure it removes the temporary file.
func (s *FileStore) commit(id string, expected Version, tmp string) (err error) {
	defer func() {
		if err != nil {
			_ = s.root.Remove(tmp)
		}
	}()
	unlock, err := s.lockFolder()
	if err != nil {
		return fmt.Errorf("engine: session_id %s: lock state folder: %w", id, err)
	}
	defer unlock()
	if err := s.checkVersion(id, expected); err != nil {
		return err
	}
	s.step("synced")
	if err := s.root.Rename(tmp, id+".json"); err != nil {
		return fmt.Errorf("engine: session_id %s: save state file: %w", id, err)
	}
	return nil
}

// lockFolder takes the folder lock: a mutex for this process and an
// exclusive flock on the lock file for other processes (where the platform
// has flock). It returns the function that releases both.
func (s *FileStore) lockFolder() (func(), error) {
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
func (s *FileStore) currentVersion(id string) (Version, error) {
	fi, err := s.root.Stat(id + ".json")
	if errors.Is(err, fs.ErrNotExist) {
		s.known.Delete(id)
		return -1, nil
	}
	if err == nil {
		if k, ok := s.known.Load(id); ok && k.stamp == stampOf(fi) {
			return k.ver, nil
		}
	}
	_, ver, err := s.read(id)
	switch {
	case err == nil:
		return ver, nil
	case errors.Is(err, ErrNotFound):
		return -1, nil
	case errors.Is(err, ErrCorrupt):
		return 0, nil
	default:
		return 0, err
	}
}

// writeTemp writes data to a new temporary file in the folder, named
// after name, and fsyncs it. It returns the file's name and stamp; a
// rename keeps the stamp (inode, size, modification time).
func (s *FileStore) writeTemp(name string, data []byte) (tmp string, stamp fileStamp, err error) {
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	tmp = tempPrefix + hex.EncodeToString(rnd[:]) + "-" + name
	f, err := s.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", stamp, err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			_ = s.root.Remove(tmp)
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
	return tmp, stampOf(fi), nil
}

func (s *FileStore) step(name string) {
	if s.stage != nil {
		s.stage(name)
	}
}

func (s *FileStore) syncDir() error {
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
func (s *FileStore) Delete(ctx context.Context, id string) error {
	id, err := ParseSessionID(id)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	mu := s.lock(id)
	mu.Lock()
	defer mu.Unlock()
	unlock, err := s.lockFolder()
	if err != nil {
		return fmt.Errorf("engine: session_id %s: lock state folder: %w", id, err)
	}
	s.known.Delete(id)
	err = s.root.Remove(id + ".json")
	unlock()
	if errors.Is(err, fs.ErrNotExist) {
		return noSession(id, "")
	}
	if err != nil {
		return fmt.Errorf("engine: session_id %s: delete state file: %w", id, err)
	}
	if s.noSync {
		return nil
	}
	return s.syncDir()
}

// List reads every state file. See Store.List.
func (s *FileStore) List(ctx context.Context) ([]SessionSummary, error) {
	entries, err := fs.ReadDir(s.root.FS(), ".")
	if err != nil {
		return nil, fmt.Errorf("engine: state folder %s: %w", s.dir, err)
	}
	out := make([]SessionSummary, 0, len(entries))
	for _, e := range entries {
		id, ok := isStateFile(e.Name())
		if !ok || !e.Type().IsRegular() {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		st, _, err := s.read(id)
		switch {
		case errors.Is(err, ErrNotFound):
			continue // deleted since ReadDir
		case err != nil:
			out = append(out, SessionSummary{SessionID: id, CompletedPhases: []int{}, Error: err.Error()})
		default:
			out = append(out, summarize(st))
		}
	}
	return out, nil
}

// fileState is the on-disk form of a SessionState: the same fields plus
// the version, with timestamps that may lack a time zone (prAxIs OS writes
// Python's naive isoformat; those are read as UTC).
type fileState struct {
	stateAlias
	PhaseArtifacts map[int]*fileArtifact `json:"phase_artifacts"`
	CreatedAt      flexTime              `json:"created_at"`
	UpdatedAt      flexTime              `json:"updated_at"`
	Version        Version               `json:"version,omitempty"`
}

type stateAlias SessionState

type fileArtifact struct {
	artifactAlias
	Timestamp flexTime `json:"timestamp"`
}

type artifactAlias PhaseArtifact

// EncodeState returns the state-file JSON of st at version ver.
func EncodeState(st *SessionState, ver Version) ([]byte, error) {
	fsx := fileState{stateAlias: stateAlias(*st), CreatedAt: flexTime(st.CreatedAt), UpdatedAt: flexTime(st.UpdatedAt), Version: ver}
	if st.PhaseArtifacts != nil {
		fsx.PhaseArtifacts = make(map[int]*fileArtifact, len(st.PhaseArtifacts))
		for k, a := range st.PhaseArtifacts {
			if a != nil {
				fsx.PhaseArtifacts[k] = &fileArtifact{artifactAlias: artifactAlias(*a), Timestamp: flexTime(a.Timestamp)}
			}
		}
	}
	// Compact, never indented: indentation grows with the square of the
	// nesting depth, so a deeply nested evidence object would write a file
	// many times its own size.
	return json.Marshal(&fsx)
}

// DecodeState parses a state file, prAxIs OS's or ours. A file without a
// version is version 1; one without a status is active. The error names
// the field at fault.
func DecodeState(data []byte) (*SessionState, Version, error) {
	var fsx fileState
	if err := json.Unmarshal(data, &fsx); err != nil {
		return nil, 0, fmt.Errorf("not valid state JSON: %w", err)
	}
	st := SessionState(fsx.stateAlias)
	st.CreatedAt, st.UpdatedAt = time.Time(fsx.CreatedAt), time.Time(fsx.UpdatedAt)
	switch {
	case st.SessionID == "":
		return nil, 0, errors.New("session_id is missing")
	case st.WorkflowType == "":
		return nil, 0, errors.New("workflow_type is missing")
	case st.CurrentPhase < 0:
		return nil, 0, fmt.Errorf("current_phase must be 0 or more, got %d", st.CurrentPhase)
	case fsx.Version < 0:
		return nil, 0, fmt.Errorf("version must be 0 or more, got %d", fsx.Version)
	}
	if st.PhaseArtifacts = nil; fsx.PhaseArtifacts != nil {
		st.PhaseArtifacts = make(map[int]*PhaseArtifact, len(fsx.PhaseArtifacts))
		for k, a := range fsx.PhaseArtifacts {
			if a == nil {
				continue
			}
			pa := PhaseArtifact(a.artifactAlias)
			pa.Timestamp = time.Time(a.Timestamp)
			st.PhaseArtifacts[k] = &pa
		}
	}
	switch st.Status {
	case "":
		st.Status = StatusActive
	case StatusActive, StatusCompleted:
	default:
		return nil, 0, fmt.Errorf("status must be %q or %q, got %q", StatusActive, StatusCompleted, st.Status)
	}
	normalize(&st)
	ver := fsx.Version
	if ver == 0 {
		ver = 1
	}
	return &st, ver, nil
}

// normalize replaces nil collections with empty ones.
func normalize(st *SessionState) {
	if st.CompletedPhases == nil {
		st.CompletedPhases = []int{}
	}
	if st.PhaseArtifacts == nil {
		st.PhaseArtifacts = map[int]*PhaseArtifact{}
	}
	if st.Checkpoints == nil {
		st.Checkpoints = map[int]CheckpointStatus{}
	}
	if st.Metadata == nil {
		st.Metadata = map[string]any{}
	}
}

// flexTime reads RFC 3339 timestamps and Python's isoformat without a time
// zone (read as UTC), and writes RFC 3339 in UTC.
type flexTime time.Time

// MarshalJSON writes t in RFC 3339, UTC, or null when zero.
func (t flexTime) MarshalJSON() ([]byte, error) {
	tt := time.Time(t)
	if tt.IsZero() {
		return []byte("null"), nil
	}
	return []byte(`"` + tt.UTC().Format(time.RFC3339Nano) + `"`), nil
}

// UnmarshalJSON reads RFC 3339 or a naive ISO 8601 time (as UTC).
func (t *flexTime) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*t = flexTime{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("timestamp must be a string such as 2025-01-02T15:04:05Z, got %s", short(b))
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999"} {
		if v, err := time.Parse(layout, s); err == nil {
			*t = flexTime(v.UTC())
			return nil
		}
	}
	return fmt.Errorf("timestamp %s is not RFC 3339 or ISO 8601", quoteArg(s))
}
