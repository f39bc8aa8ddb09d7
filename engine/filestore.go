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
// process; the version check of Save reads the file, so it also holds
// against another process that writes the folder, except for a write that
// lands between that read and the rename.
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
	// known remembers, per session, the version of the file this store
	// last wrote or read and that file's stamp, so that Save can check
	// the version with a stat instead of reading and decoding the file.
	// Any other stamp (a file written by someone else) means a full read.
	known *xsync.Map[string, knownFile]
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
	s := &FileStore{root: root, dir: dir, known: xsync.NewMap[string, knownFile]()}
	entries, err := fs.ReadDir(root.FS(), ".")
	if err != nil {
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

// Dir returns the folder the store writes to.
func (s *FileStore) Dir() string { return s.dir }

// Close releases the folder. The FileStore must not be used afterwards.
func (s *FileStore) Close() error { return s.root.Close() }

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
		return nil, 0, fmt.Errorf("%w: session_id %s: no such session; list sessions with list_sessions or start one with start_workflow", ErrNotFound, id)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("engine: session_id %s: open state file: %w", id, err)
	}
	defer func() { _ = f.Close() }()
	data, err := io.ReadAll(io.LimitReader(f, MaxStateFileBytes+1))
	if err != nil {
		return nil, 0, fmt.Errorf("engine: session_id %s: read state file: %w", id, err)
	}
	if len(data) > MaxStateFileBytes {
		return nil, 0, fmt.Errorf("%w: session_id %s: state file %s is larger than %d bytes; delete the session", ErrCorrupt, id, name, MaxStateFileBytes)
	}
	st, ver, err := DecodeState(data)
	if err == nil && st.SessionID == id {
		if fi, serr := f.Stat(); serr == nil {
			s.known.Store(id, knownFile{ver: ver, stamp: stampOf(fi)})
		}
	}
	if err != nil {
		return nil, 0, fmt.Errorf("%w: session_id %s: state file %s: %w; delete the session with delete_session or restore the file", ErrCorrupt, id, name, err)
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
	cur, err := s.currentVersion(id)
	if err != nil {
		return 0, err
	}
	switch {
	case expected == 0 && cur >= 0:
		return 0, fmt.Errorf("%w: session_id %s: already exists", ErrConflict, id)
	case expected > 0 && cur < 0:
		return 0, fmt.Errorf("%w: session_id %s: no such session (deleted?); start a new one", ErrNotFound, id)
	case expected > 0 && cur != expected:
		return 0, fmt.Errorf("%w: session_id %s: state changed (version %d, expected %d); read it again and retry", ErrConflict, id, cur, expected)
	}
	data, err := EncodeState(st, expected+1)
	if err != nil {
		return 0, fmt.Errorf("%w: session_id %s: %w", ErrInvalidArgument, id, err)
	}
	s.known.Delete(id)
	stamp, err := s.replace(id+".json", data)
	if err != nil {
		return 0, fmt.Errorf("engine: session_id %s: save state file: %w", id, err)
	}
	s.known.Store(id, knownFile{ver: expected + 1, stamp: stamp})
	return expected + 1, nil
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

// replace writes data to name through a temporary file in the same folder:
// write, fsync, rename, fsync the folder. It returns the new file's stamp.
func (s *FileStore) replace(name string, data []byte) (stamp fileStamp, err error) {
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	tmp := tempPrefix + hex.EncodeToString(rnd[:]) + "-" + name
	f, err := s.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return stamp, err
	}
	defer func() {
		if err != nil {
			_ = s.root.Remove(tmp)
		}
	}()
	s.step("open")
	if _, err = f.Write(data); err != nil {
		_ = f.Close()
		return stamp, err
	}
	s.step("written")
	if !s.noSync {
		if err = f.Sync(); err != nil {
			_ = f.Close()
			return stamp, err
		}
	}
	// The rename keeps inode, size and modification time.
	fi, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return stamp, err
	}
	stamp = stampOf(fi)
	if cerr := f.Close(); cerr != nil {
		err = cerr
		return stamp, err
	}
	s.step("synced")
	if rerr := s.root.Rename(tmp, name); rerr != nil {
		err = rerr
		return stamp, err
	}
	if s.noSync {
		return stamp, nil
	}
	return stamp, s.syncDir()
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
	s.known.Delete(id)
	err = s.root.Remove(id + ".json")
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: session_id %s: no such session; list sessions with list_sessions", ErrNotFound, id)
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
	return json.MarshalIndent(&fsx, "", "  ")
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
