package redisstore

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/redis/rueidis"

	"github.com/mcpflow/mcpflow/engine/state"
)

// The Store is an state.SharedStore, whose LoadNewer the engine calls
// before every use of a session, and an state.SessionStarter, whose
// CreateOrResume it uses for starts.
var (
	_ state.SharedStore    = (*Store)(nil)
	_ state.SessionStarter = (*Store)(nil)
)

// ErrUnavailable is wrapped by the errors of calls that could not reach
// Redis in time (connection refused or lost, timeout, Redis paused). For
// a save it means the outcome is unknown: read the session again.
var ErrUnavailable = errors.New("redisstore: Redis unavailable")

// ErrDataLost is wrapped, with state.ErrNotFound, when a session is
// missing because Redis lost its data since this store last saw it (a
// restart without persistence, or a flush).
var ErrDataLost = errors.New("redisstore: Redis lost its data")

// keyTag is the hash tag every key carries, so that the multi-key scripts
// stay legal on a cluster (all keys in one slot).
const keyTag = "{mcpflow}:v1:"

// maxPairAttempts bounds CreateOrResume's retries.
const maxPairAttempts = 8

// fenceMarkerTTL is how long the marker of an unresolved create lives.
const fenceMarkerTTL = time.Minute

// Store is an state.SharedStore and state.SessionStarter that keeps sessions
// in Redis so that several mcpflow processes (replicas) share them. It is
// written on rueidis.
//
// A Store is safe for concurrent use by multiple goroutines without
// additional locking, and by any number of processes on one Redis
// database. Create one with Open and release it with Close; the zero
// Store is not usable and a Store must not be copied.
//
// Every save is one Lua script (EVALSHA) that compares the version and
// writes the new one, so two replicas saving the same version of a
// session cannot both succeed. Reads go through rueidis' client-side
// cache (CLIENT TRACKING, OPTIN), which Redis invalidates when another
// client writes; a cached read never outlives Options.CacheTTL. A
// replica always reads its own writes: the store remembers the highest
// version it wrote or saw per session and reads from Redis again when the
// cache holds an older one. A read on one replica sees another replica's
// save once the invalidation has arrived (sub-millisecond on loopback,
// see docs/benchmarks/redis.md); in happens-before terms, a save that
// returned happens before every later Load of the same Store, and before
// Loads of other Stores that start after they received its invalidation.
//
// Every Redis call runs under a deadline of at most Options.Timeout. A
// save whose reply is lost is settled by its write_id (see Save).
type Store struct {
	opts   Options
	client rueidis.Client
	guard  *guard
	stats  counters
	ttlMs  string // Options.SessionTTL in ms, "0" for no expiry

	// epoch is the value of the epoch key this store last saw, a random
	// id written once per Redis data set: when it changes or vanishes,
	// Redis has lost its data.
	epoch atomic.Pointer[string]
	// lostAt is when this store found Redis' data lost, unix ns (0:
	// never).
	lostAt atomic.Int64
	// maxDoc, when above 0, replaces state.MaxStateFileBytes as the
	// largest document saved; set only by tests.
	maxDoc int
}

// docLimit is the largest session document Save writes: the FileStore's
// read limit, so that a state moves between the two stores either way.
func (s *Store) docLimit() int {
	if s.maxDoc > 0 {
		return s.maxDoc
	}
	return state.MaxStateFileBytes
}

// OpenURL parses rawURL with ParseURL and opens a Store on it.
func OpenURL(ctx context.Context, rawURL string) (*Store, error) {
	o, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	return Open(ctx, o)
}

// Open connects to Redis and checks that it answers and supports
// client-side caching (Redis 6 or later, RESP3). ctx bounds the
// connection.
func Open(ctx context.Context, o Options) (*Store, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Store{opts: o, guard: newGuard(o.CacheTTL + time.Second), ttlMs: "0"}
	if o.SessionTTL > 0 {
		s.ttlMs = strconv.FormatInt(max(o.SessionTTL.Milliseconds(), 1), 10)
	}
	copt := rueidis.ClientOption{
		InitAddress:           []string{o.Addr},
		SelectDB:              o.DB,
		Username:              o.Username,
		Password:              o.Password,
		ClientName:            "mcpflow",
		ForceSingleClient:     true,
		ConnWriteTimeout:      o.ConnTimeout,
		CacheSizeEachConn:     o.CacheBytes,
		ClientTrackingOptions: []string{"OPTIN"},
		// KeepAlive is also the idle time after which rueidis PINGs a
		// connection; with ConnWriteTimeout it bounds how long a cut-off
		// replica serves its cache: about 2*KeepAlive + ConnTimeout.
		Dialer:          net.Dialer{Timeout: o.Timeout, KeepAlive: max(o.ConnTimeout/2, 100*time.Millisecond)},
		OnInvalidations: s.onInvalidations,
	}
	if o.TLS {
		copt.TLSConfig = o.TLSConfig
		if copt.TLSConfig == nil {
			host, _, _ := net.SplitHostPort(o.Addr)
			copt.TLSConfig = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
		}
	}
	client, err := rueidis.NewClient(copt)
	if err != nil {
		if errors.Is(err, rueidis.ErrNoCache) {
			return nil, fmt.Errorf("redisstore: %s does not support client-side caching (RESP3, CLIENT TRACKING); use Redis 6 or later: %w", o, err)
		}
		return nil, fmt.Errorf("%w: %s: %w", ErrUnavailable, o, err)
	}
	s.client = client
	cctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	if _, err := s.readEpoch(cctx); err != nil {
		client.Close()
		return nil, err
	}
	if err := s.reindexIfNeeded(ctx); err != nil {
		client.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the connections. The Store must not be used afterwards.
func (s *Store) Close() error {
	s.client.Close()
	return nil
}

// String describes the store: its URL without the password.
func (s *Store) String() string { return s.opts.String() }

func (s *Store) onInvalidations(keys []rueidis.RedisMessage) {
	if keys == nil {
		s.stats.flushes.Add(1)
		return
	}
	s.stats.invalidations.Add(int64(len(keys)))
}

// ---- keys ----

func (s *Store) sessKey(id string) string   { return s.opts.Prefix + keyTag + "sess:" + id }
func (s *Store) pairKey(hash string) string { return s.opts.Prefix + keyTag + "active:" + hash }
func (s *Store) epochKey() string           { return s.opts.Prefix + keyTag + "epoch" }
func (s *Store) idxKey(name string) string  { return s.opts.Prefix + keyTag + "idx:" + name }

// idxKeys returns the index keys in the order the scripts take them:
// idx:all, idx:active, idx:completed, idx:failed, idx:lk.
func (s *Store) idxKeys() []string {
	return []string{s.idxKey("all"), s.idxKey("active"), s.idxKey("completed"), s.idxKey("failed"), s.idxKey("lk")}
}

// listKey returns the sorted set that lists the sessions of status.
func (s *Store) listKey(status state.Status) string {
	switch status {
	case state.StatusActive:
		return s.idxKey("active")
	case state.StatusCompleted:
		return s.idxKey("completed")
	case state.StatusGateFailed:
		return s.idxKey("failed")
	case state.StatusPaused:
		// Paused sessions have no set of their own: a page walks the
		// active ones and keeps the paused (state.Matches), so it may
		// hold fewer than its limit while Next is set.
		return s.idxKey("active")
	}
	return s.idxKey("all")
}
func (s *Store) sessPattern() string          { return escapeGlob(s.opts.Prefix+keyTag) + "sess:*" }
func (s *Store) idOfKey(key string) string    { return key[len(s.opts.Prefix)+len(keyTag)+len("sess:"):] }
func pairHash(workflow, target string) string { return hashHex(workflow + "\x00" + target) }

func hashHex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:16])
}

// escapeGlob escapes the characters SCAN MATCH treats specially.
func escapeGlob(s string) string {
	var b bytes.Buffer
	for _, r := range s {
		switch r {
		case '*', '?', '[', ']', '\\', '{', '}':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func newWriteID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// ---- calls ----

// call returns ctx bounded by Options.Timeout.
func (s *Store) call(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.opts.Timeout)
}

// transportErr reports whether err is a failure to talk to Redis (as
// opposed to an error reply from Redis or a nil reply).
func transportErr(err error) bool {
	if err == nil || rueidis.IsRedisNil(err) {
		return false
	}
	_, isReply := rueidis.IsRedisErr(err)
	return !isReply
}

// unavailable wraps a transport error for the session id and operation.
func (s *Store) unavailable(op, id string, err error) error {
	s.stats.errors.Add(1)
	what := "session_id " + id
	if id == "" {
		what = "sessions"
	}
	return fmt.Errorf("%w: %s %s: %s did not answer within %v (%w); check that Redis is running and reachable", ErrUnavailable, op, what, s.opts.Addr, s.opts.Timeout, err)
}

// replyErr wraps an error reply from Redis.
func (s *Store) replyErr(op, id string, err error) error {
	s.stats.errors.Add(1)
	return fmt.Errorf("redisstore: %s session_id %s: Redis refused: %w", op, id, err)
}

func (s *Store) fail(op, id string, err error) error {
	if transportErr(err) {
		return s.unavailable(op, id, err)
	}
	return s.replyErr(op, id, err)
}

// ---- epoch: noticing that Redis lost its data ----

// readEpoch returns the epoch key's value, creating it when missing. When
// it differs from the one the store knew, Redis lost its data (or was
// flushed) in between: the store records when it noticed and returns
// true.
func (s *Store) readEpoch(ctx context.Context) (bool, error) {
	// SETNX then GET, pipelined on one connection (SET NX GET needs
	// Redis 7).
	res := s.client.DoMulti(ctx,
		s.client.B().Setnx().Key(s.epochKey()).Value(newWriteID()).Build(),
		s.client.B().Get().Key(s.epochKey()).Build())
	if err := res[0].Error(); err != nil {
		return false, s.fail("open", "", err)
	}
	cur, err := res[1].ToString()
	if err != nil {
		return false, s.fail("open", "", err)
	}
	old := s.epoch.Swap(&cur)
	if old == nil || *old == cur {
		return false, nil
	}
	s.lostAt.Store(time.Now().UnixNano())
	s.stats.dataLost.Add(1)
	s.opts.Logger.Warn("Redis lost its data (restarted without persistence, or flushed): sessions saved before now are gone; enable AOF (appendonly yes) to keep them", "redis", s.opts.String())
	return true, nil
}

// notFound builds the "no such session" error, telling the caller when
// Redis lost its data. It checks the epoch (one round trip) only on this
// path.
func (s *Store) notFound(ctx context.Context, id string) error {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.Timeout)
	defer cancel()
	lost, err := s.readEpoch(cctx)
	if err == nil && (lost || s.lostAt.Load() != 0) {
		at := time.Unix(0, s.lostAt.Load()).UTC().Format(time.RFC3339)
		return &state.FieldError{Kind: state.ErrNotFound, Field: "session_id", Value: id, Problem: "no such session",
			Err: fmt.Errorf("%w (restarted without persistence, or flushed; noticed at %s), so sessions saved before then are gone; enable AOF (appendonly yes) on Redis to keep sessions across restarts", ErrDataLost, at)}
	}
	return &state.FieldError{Kind: state.ErrNotFound, Field: "session_id", Value: id,
		Problem: "no such session in Redis (deleted, expired after " + s.ttlText() + " without a save, or lost by Redis)"}
}

func (s *Store) ttlText() string {
	if s.opts.SessionTTL <= 0 {
		return "never"
	}
	return s.opts.SessionTTL.String()
}

// ---- Load ----

// record is what a probe of one session hash read: whether it holds a
// session, its version and the length of its document.
type record struct {
	exists bool
	ver    state.Version
	docLen int64
}

// parseVersion reads a version field: not exists when nil (no session, or
// a fence marker).
func parseVersion(m rueidis.RedisMessage) (exists bool, ver state.Version, err error) {
	if m.IsNil() {
		return false, 0, nil
	}
	vs, err := m.ToString()
	if err != nil {
		return false, 0, err
	}
	v, err := strconv.ParseInt(vs, 10, 64)
	if err != nil || v < 1 {
		return false, 0, fmt.Errorf("version field %q is not a positive integer", vs)
	}
	return true, state.Version(v), nil
}

// probe reads id's version and the length of its document (HMGET and
// HSTRLEN, pipelined), from the client-side cache when cached is set, so
// that the document is never transferred before its length is checked.
func (s *Store) probe(ctx context.Context, id string, cached bool) (record, error) {
	k := s.sessKey(id)
	ver := s.client.B().Hmget().Key(k).Field("version").Cache()
	n := s.client.B().Hstrlen().Key(k).Field("doc").Cache()
	var res []rueidis.RedisResult
	if cached {
		res = s.client.DoMultiCache(ctx, rueidis.CT(ver, s.opts.CacheTTL), rueidis.CT(n, s.opts.CacheTTL))
		if res[0].IsCacheHit() {
			s.stats.cacheHits.Add(1)
		} else {
			s.stats.cacheMisses.Add(1)
		}
	} else {
		res = s.client.DoMulti(ctx, rueidis.Completed(ver), rueidis.Completed(n))
	}
	vals, err := res[0].ToArray()
	if err == nil {
		err = res[1].Error()
	}
	if _, refused := rueidis.IsRedisErr(err); cached && refused && !rueidis.IsRedisNil(err) {
		// A cached read is a transaction (MULTI, PTTL, HMGET, EXEC), which
		// Redis refuses when it is out of memory, or when the key is not
		// a hash; a plain read says which.
		return s.probe(ctx, id, false)
	}
	if err != nil {
		return record{}, err
	}
	if len(vals) < 1 {
		return record{}, nil
	}
	var r record
	r.exists, r.ver, err = parseVersion(vals[0])
	if err != nil {
		return record{}, state.Errorf(state.ErrCorrupt, "session_id %s: %w; delete the session", id, err)
	}
	r.docLen, _ = res[1].AsInt64()
	return r, nil
}

// readDoc reads id's version and document together, from the
// client-side cache when cached is set. ok is false when the session is
// gone.
func (s *Store) readDoc(ctx context.Context, id string, cached bool) (ver state.Version, doc string, ok bool, err error) {
	cmd := s.client.B().Hmget().Key(s.sessKey(id)).Field("version", "doc").Cache()
	var res rueidis.RedisResult
	if cached {
		res = s.client.DoCache(ctx, cmd, s.opts.CacheTTL)
	} else {
		res = s.client.Do(ctx, rueidis.Completed(cmd))
	}
	vals, err := res.ToArray()
	if _, refused := rueidis.IsRedisErr(err); cached && refused && !rueidis.IsRedisNil(err) {
		return s.readDoc(ctx, id, false)
	}
	if err != nil {
		return 0, "", false, err
	}
	if len(vals) < 2 {
		return 0, "", false, nil
	}
	exists, ver, err := parseVersion(vals[0])
	if err != nil {
		return 0, "", false, state.Errorf(state.ErrCorrupt, "session_id %s: %w; delete the session", id, err)
	}
	if !exists {
		return 0, "", false, nil
	}
	doc, _ = vals[1].ToString()
	return ver, doc, true, nil
}

// readErr turns a failed read of id into the error to return: a key that
// is not a hash (written by something else than mcpflow) is that
// session's corruption; any other refusal or transport failure is what
// fail makes of it.
func (s *Store) readErr(ctx context.Context, op, id string, err error) error {
	if errors.Is(err, state.ErrCorrupt) {
		return err
	}
	if _, refused := rueidis.IsRedisErr(err); refused && !rueidis.IsRedisNil(err) {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.Timeout)
		defer cancel()
		if t, terr := s.client.Do(cctx, s.client.B().Type().Key(s.sessKey(id)).Build()).ToString(); terr == nil && t != "hash" && t != "none" {
			return wrongType(id, t)
		}
	}
	return s.fail(op, id, err)
}

// wrongType is the error for a session key that holds a Redis value of
// type t instead of a hash.
func wrongType(id, t string) error {
	return &state.FieldError{Kind: state.ErrCorrupt, Field: "session_id", Value: id,
		Problem: "stored under a Redis key of type " + t + ", not a hash; the session can be deleted"}
}

// tooLarge is the error for a stored document of n bytes, over limit.
func tooLarge(id string, n int64, limit int) error {
	return &state.FieldError{Kind: state.ErrCorrupt, Field: "session_id", Value: id,
		Problem: fmt.Sprintf("stored document is %d bytes, over the limit of %d bytes, and was not read; the session can be deleted", n, limit)}
}

// Load returns the session's state and version (state.Store). It reads
// through the client-side cache, and again from Redis when the cached
// copy is older than a version this store wrote or saw. A document over
// the store's limit is not read: it is reported as corrupt.
func (s *Store) Load(ctx context.Context, id string) (*state.SessionState, state.Version, error) {
	return s.load(ctx, id, -1)
}

// LoadNewer is Load for a caller that already holds version have of the
// session: when the stored version is still have, it returns a nil state
// and have without reading or decoding the document. A caller that keeps
// decoded sessions keyed by (id, version) thus never serves a version
// older than the one Redis holds, as far as this replica has heard, and
// decodes only what changed.
func (s *Store) LoadNewer(ctx context.Context, id state.SessionID, have state.Version) (*state.SessionState, state.Version, error) {
	return s.loadID(ctx, id.String(), have)
}

// load probes the session (version and document length), then reads the
// document only when it is needed and within the limit. A document that
// grows past the limit between the probe and the read is read once, and
// still refused.
func (s *Store) load(ctx context.Context, id string, have state.Version) (*state.SessionState, state.Version, error) {
	sid, err := state.ParseSessionID(id)
	if err != nil {
		return nil, 0, err
	}
	return s.loadID(ctx, sid.String(), have)
}

// loadID is load for an ID in canonical form.
func (s *Store) loadID(ctx context.Context, id string, have state.Version) (*state.SessionState, state.Version, error) {
	defer s.stats.observe(opLoad, time.Now())
	cctx, cancel := s.call(ctx)
	defer cancel()
	cached := true
	r, err := s.probe(cctx, id, true)
	if err == nil && s.guard.stale(id, r.exists, r.ver) {
		s.stats.staleReads.Add(1)
		cached = false
		r, err = s.probe(cctx, id, false)
	}
	if err != nil {
		return nil, 0, s.readErr(ctx, "load", id, err)
	}
	if !r.exists {
		return nil, 0, s.notFound(ctx, id)
	}
	s.guard.saw(id, r.ver)
	if r.ver == have {
		return nil, have, nil
	}
	limit := s.docLimit()
	if r.docLen > int64(limit) {
		return nil, 0, tooLarge(id, r.docLen, limit)
	}
	ver, doc, ok, err := s.readDoc(cctx, id, cached)
	if err == nil && ok && s.guard.stale(id, true, ver) {
		s.stats.staleReads.Add(1)
		ver, doc, ok, err = s.readDoc(cctx, id, false)
	}
	if err != nil {
		return nil, 0, s.readErr(ctx, "load", id, err)
	}
	if !ok {
		return nil, 0, s.notFound(ctx, id)
	}
	if len(doc) > limit {
		return nil, 0, tooLarge(id, int64(len(doc)), limit)
	}
	s.guard.saw(id, ver)
	if ver == have {
		return nil, have, nil
	}
	st, err := decode(id, doc)
	if err != nil {
		return nil, 0, err
	}
	return st, ver, nil
}

// decode parses a session document and checks that it is id's.
func decode(id, doc string) (*state.SessionState, error) {
	st, _, err := state.DecodeState([]byte(doc))
	if err != nil {
		return nil, &state.FieldError{Kind: state.ErrCorrupt, Field: "session_id", Value: id, Problem: "stored document",
			Err: fmt.Errorf("%w; the session can be deleted", err)}
	}
	if st.SessionID != id {
		return nil, state.Errorf(state.ErrCorrupt, "session_id %s: stored document holds session_id %q; delete the session", id, st.SessionID)
	}
	return st, nil
}

// encode returns the compact JSON document of st at version ver, or an
// error wrapping state.ErrInvalidArgument when it is over limit bytes.
func encode(st *state.SessionState, ver state.Version, limit int) (string, error) {
	data, err := state.EncodeState(st, ver)
	if err != nil {
		return "", state.Errorf(state.ErrInvalidArgument, "session_id %s: %w", st.SessionID, err)
	}
	if err := state.CheckStateSize(st.SessionID, len(data), limit); err != nil {
		return "", err
	}
	return string(data), nil
}

// ---- Save ----

// checkState validates the id of a state to be written.
func checkState(st *state.SessionState) error {
	if st == nil {
		return state.Errorf(state.ErrInvalidArgument, "state is nil")
	}
	sid, err := state.ParseSessionID(st.SessionID)
	if err != nil {
		return err
	}
	id := sid.String()
	if id != st.SessionID {
		return state.Errorf(state.ErrInvalidArgument, "session_id %q is not in canonical form %q", st.SessionID, id)
	}
	return nil
}

// Save stores st if the saved version is still expected (state.Store),
// in one Lua script that also refreshes the TTLs and, when st is
// completed, releases its (workflow_type, target_file) pair. Changing a
// saved session's workflow_type or target_file is refused.
//
// When the reply is lost (a timeout, a broken connection), the save may
// or may not have run, and may even still be queued in Redis. Save then
// settles it within another Options.Timeout with a second script keyed by
// the save's fresh write_id: if the session carries that write_id, the
// save landed and Save succeeds; if not, the script makes sure it never
// lands (it bumps the version, or leaves a short-lived marker for a
// create) and Save returns state.ErrConflict, so the caller reads again
// and decides again. Only when Redis stays unreachable does Save return
// ErrUnavailable, with the outcome unknown.
func (s *Store) Save(ctx context.Context, st *state.SessionState, expected state.Version) (state.Version, error) {
	if err := checkState(st); err != nil {
		return 0, err
	}
	if expected < 0 {
		return 0, state.Errorf(state.ErrInvalidArgument, "expected version must be 0 or more, got %d", expected)
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	doc, err := encode(st, expected+1, s.docLimit())
	if err != nil {
		return 0, err
	}
	defer s.stats.observe(opSave, time.Now())
	id := st.SessionID
	pair := pairHash(st.WorkflowType, st.TargetFile)
	release := "0"
	if st.Status == state.StatusCompleted {
		release = "1"
	}
	wid := newWriteID()
	cctx, cancel := s.call(ctx)
	defer cancel()
	sum, failed, err := summaryJSON(st)
	if err != nil {
		return 0, err
	}
	res := saveScript.Exec(cctx, s.client, append([]string{s.sessKey(id), s.pairKey(pair)}, s.idxKeys()...),
		[]string{strconv.FormatInt(int64(expected), 10), doc, wid, s.ttlMs, id, release, pair,
			state.KeyOfState(st).String(), string(st.Status), sum, failed})
	vals, err := res.AsIntSlice()
	if transportErr(err) {
		return s.settle(ctx, id, expected, wid, err)
	}
	if err != nil || len(vals) < 1 {
		return 0, s.replyErr("save", id, fmt.Errorf("save script: %v %w", vals, err))
	}
	return s.saveResult(ctx, id, expected, vals)
}

// saveResult turns the save script's reply into Save's result.
func (s *Store) saveResult(ctx context.Context, id string, expected state.Version, vals []int64) (state.Version, error) {
	cur := state.Version(0)
	if len(vals) > 1 {
		cur = state.Version(vals[1])
	}
	switch vals[0] {
	case codeOK:
		s.stats.saves.Add(1)
		s.guard.saw(id, cur)
		return cur, nil
	case codeConflict:
		s.stats.conflicts.Add(1)
		if cur > 0 {
			s.guard.saw(id, cur)
		}
		if expected == 0 {
			return 0, state.Errorf(state.ErrConflict, "session_id %s: already exists", id)
		}
		return 0, state.Errorf(state.ErrConflict, "session_id %s: state changed (version %d, expected %d); read it again and retry", id, cur, expected)
	case codeNotFound:
		s.guard.gone(id, expected)
		return 0, s.notFound(ctx, id)
	case codePair:
		return 0, state.Errorf(state.ErrInvalidArgument, "session_id %s: workflow_type and target_file of a saved session cannot change", id)
	}
	return 0, s.replyErr("save", id, fmt.Errorf("unknown reply %v", vals))
}

// settle resolves a save whose reply was lost, by its write_id: see Save.
func (s *Store) settle(ctx context.Context, id string, expected state.Version, wid string, cause error) (state.Version, error) {
	s.stats.ambiguous.Add(1)
	defer s.stats.observe(opFence, time.Now())
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.Timeout)
	defer cancel()
	vals, err := fenceScript.Exec(cctx, s.client, []string{s.sessKey(id)},
		[]string{strconv.FormatInt(int64(expected), 10), wid, strconv.FormatInt(fenceMarkerTTL.Milliseconds(), 10)}).AsIntSlice()
	if err != nil || len(vals) < 1 {
		s.stats.unknown.Add(1)
		s.stats.errors.Add(1)
		if err == nil {
			err = fmt.Errorf("unknown reply %v", vals)
		}
		return 0, fmt.Errorf("%w: save of session_id %s: the reply was lost (%w) and Redis did not answer the check that follows (%w); the save may or may not have landed: read the session again",
			ErrUnavailable, id, cause, err)
	}
	cur := state.Version(0)
	if len(vals) > 1 {
		cur = state.Version(vals[1])
	}
	switch vals[0] {
	case fenceLanded:
		s.stats.landed.Add(1)
		s.stats.saves.Add(1)
		s.guard.saw(id, cur)
		s.opts.Logger.Info("a save whose reply was lost had landed", "session_id", id, "version", cur, "cause", cause)
		return cur, nil
	case fenceFenced, fenceMoved:
		s.stats.fenced.Add(1)
		if cur > 0 {
			s.guard.saw(id, cur)
		}
		return 0, state.Errorf(state.ErrConflict, "session_id %s: the save's reply was lost (%w) and it had not landed; it never will (the version is now %d): read the session again and retry", id, cause, cur)
	case fenceGone:
		s.stats.fenced.Add(1)
		s.guard.gone(id, expected)
		return 0, s.notFound(ctx, id)
	}
	s.stats.unknown.Add(1)
	return 0, s.replyErr("save", id, fmt.Errorf("unknown reply %v", vals))
}

// ---- CreateOrResume ----

// CreateOrResume saves st, a new session at version 1, as the active
// session of its (workflow_type, target_file) pair, unless the pair
// already has an active session: that one is returned instead, with
// created false. The check and the create are one Lua script, so across
// any number of replicas one pair gets one active session.
//
// The returned state is the one stored. Its session id may differ from
// st's when st's id could not be used (a create whose reply was lost and
// did not land leaves its id fenced). An index that points to a session
// that has vanished, or to one that is unusable (corrupt, completed, of
// another pair), is cleared, only while it still holds that id, and the
// start tried again, a bounded number of times.
func (s *Store) CreateOrResume(ctx context.Context, st *state.SessionState) (*state.SessionState, state.Version, bool, error) {
	if err := checkState(st); err != nil {
		return nil, 0, false, err
	}
	if st.Status != state.StatusActive {
		return nil, 0, false, state.Errorf(state.ErrInvalidArgument, "CreateOrResume needs an active session, got status %q", st.Status)
	}
	if err := ctx.Err(); err != nil {
		return nil, 0, false, err
	}
	defer s.stats.observe(opCreate, time.Now())
	pair := pairHash(st.WorkflowType, st.TargetFile)
	pk := s.pairKey(pair)
	cctx, cancel := s.call(ctx)
	defer cancel()
	// The index through the client-side cache: a stale value costs one
	// retry, since the script compares it.
	seen, err := s.client.DoCache(cctx, s.client.B().Get().Key(pk).Cache(), s.opts.CacheTTL).ToString()
	if rueidis.IsRedisNil(err) {
		seen, err = "", nil
	}
	if err != nil {
		return nil, 0, false, s.startErr(st, err)
	}
	cur := st
	for attempt := 1; ; attempt++ {
		if attempt > 1 {
			s.stats.retries.Add(1)
		}
		if attempt > maxPairAttempts {
			s.stats.errors.Add(1)
			return nil, 0, false, state.Errorf(state.ErrConflict, "workflow_type %s, target_file %q: the active-session index kept changing during %d attempts; try again", st.WorkflowType, st.TargetFile, maxPairAttempts)
		}
		doc, err := encode(cur, 1, s.docLimit())
		if err != nil {
			return nil, 0, false, err
		}
		sum, _, err := summaryJSON(cur)
		if err != nil {
			return nil, 0, false, err
		}
		wid := newWriteID()
		oldKey := s.sessKey(cur.SessionID)
		if seen != "" {
			oldKey = s.sessKey(seen)
		}
		res := createScript.Exec(cctx, s.client, append([]string{pk, oldKey, s.sessKey(cur.SessionID)}, s.idxKeys()...),
			[]string{seen, cur.SessionID, doc, wid, s.ttlMs, pair, state.KeyOfState(cur).String(), sum, strconv.Itoa(s.docLimit())})
		vals, err := res.ToArray()
		if transportErr(err) {
			created, serr := s.settleCreate(ctx, cur, wid, err)
			if serr != nil {
				return nil, 0, false, serr
			}
			if created {
				return cur, 1, true, nil
			}
			// Not created, and fenced: try again with a new id and a
			// fresh look at the index.
			cur, seen = withNewID(cur), s.freshIndex(ctx, pk)
			continue
		}
		if err != nil || len(vals) < 1 {
			return nil, 0, false, s.startErr(st, fmt.Errorf("create script: %v %w", vals, err))
		}
		code, _ := vals[0].AsInt64()
		switch code {
		case codeCreated:
			s.stats.saves.Add(1)
			s.guard.saw(cur.SessionID, 1)
			return cur, 1, true, nil
		case codeMoved:
			seen, _ = vals[1].ToString()
			continue
		case codeIDTaken:
			cur = withNewID(cur)
			continue
		case codeResumed:
			id, _ := vals[1].ToString()
			ver, _ := vals[2].AsInt64()
			var got *state.SessionState
			var derr error
			if vals[3].IsNil() {
				derr = state.Errorf(state.ErrCorrupt, "session_id %s: its stored document is over %d bytes or not a hash", id, s.docLimit())
			} else {
				doc, _ := vals[3].ToString()
				got, derr = decode(id, doc)
			}
			if derr == nil && got.Status == state.StatusActive && got.WorkflowType == st.WorkflowType && got.TargetFile == st.TargetFile {
				s.guard.saw(id, state.Version(ver))
				return got, state.Version(ver), false, nil
			}
			// Unusable: release the index only while it still holds id.
			reason := "it is completed or belongs to another pair"
			if derr != nil {
				reason = derr.Error()
			}
			s.opts.Logger.Warn("the active-session index pointed to an unusable session; index cleared", "session_id", id, "reason", reason)
			if _, err := releaseScript.Exec(cctx, s.client, []string{pk}, []string{id}).AsInt64(); err != nil {
				return nil, 0, false, s.startErr(st, err)
			}
			seen = ""
			continue
		}
		return nil, 0, false, s.startErr(st, fmt.Errorf("create script: unknown reply code %d", code))
	}
}

// startErr wraps a failure of CreateOrResume, naming the pair.
func (s *Store) startErr(st *state.SessionState, err error) error {
	s.stats.errors.Add(1)
	what := fmt.Sprintf("start of workflow_type %s, target_file %q", st.WorkflowType, st.TargetFile)
	if transportErr(err) {
		return fmt.Errorf("%w: %s: %s did not answer within %v (%w); check that Redis is running and reachable, then start again", ErrUnavailable, what, s.opts.Addr, s.opts.Timeout, err)
	}
	return fmt.Errorf("redisstore: %s: Redis refused: %w", what, err)
}

// withNewID returns a copy of st under a new session id.
func withNewID(st *state.SessionState) *state.SessionState {
	c := *st
	c.SessionID = uuid.NewString()
	return &c
}

// freshIndex reads the pair key from Redis (not the cache); "" on any
// failure, which the next script run corrects.
func (s *Store) freshIndex(ctx context.Context, pk string) string {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.Timeout)
	defer cancel()
	v, err := s.client.Do(cctx, s.client.B().Get().Key(pk).Build()).ToString()
	if err != nil {
		return ""
	}
	return v
}

// settleCreate resolves a create whose reply was lost: created true when
// the session carries wid; false when the create did not land and never
// will (fenced).
func (s *Store) settleCreate(ctx context.Context, st *state.SessionState, wid string, cause error) (bool, error) {
	s.stats.ambiguous.Add(1)
	defer s.stats.observe(opFence, time.Now())
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.Timeout)
	defer cancel()
	vals, err := fenceScript.Exec(cctx, s.client, []string{s.sessKey(st.SessionID)},
		[]string{"0", wid, strconv.FormatInt(fenceMarkerTTL.Milliseconds(), 10)}).AsIntSlice()
	if err != nil || len(vals) < 1 {
		s.stats.unknown.Add(1)
		s.stats.errors.Add(1)
		if err == nil {
			err = fmt.Errorf("unknown reply %v", vals)
		}
		return false, fmt.Errorf("%w: start of workflow_type %s, target_file %q: the reply was lost (%w) and Redis did not answer the check that follows (%w); start again: it resumes the session if it was created",
			ErrUnavailable, st.WorkflowType, st.TargetFile, cause, err)
	}
	if vals[0] == fenceLanded {
		s.stats.landed.Add(1)
		s.stats.saves.Add(1)
		s.guard.saw(st.SessionID, 1)
		return true, nil
	}
	s.stats.fenced.Add(1)
	return false, nil
}

// ---- Delete ----

// Delete removes the session and releases its pair if the session holds
// it (state.Store).
func (s *Store) Delete(ctx context.Context, id string) error {
	sid, err := state.ParseSessionID(id)
	if err != nil {
		return err
	}
	id = sid.String()
	if err := ctx.Err(); err != nil {
		return err
	}
	defer s.stats.observe(opDelete, time.Now())
	cctx, cancel := s.call(ctx)
	defer cancel()
	// The pair is read first, since the script must name every key it
	// touches. A key that is not a hash has no pair: the script deletes
	// it all the same.
	pair := ""
	vals, err := s.client.Do(cctx, s.client.B().Hmget().Key(s.sessKey(id)).Field("version", "pair").Build()).ToArray()
	switch {
	case transportErr(err):
		return s.unavailable("delete", id, err)
	case err != nil:
	case len(vals) < 2 || vals[0].IsNil():
		// No session; the script still drops index entries left behind.
	default:
		pair, _ = vals[1].ToString()
	}
	unreadable := state.KeyOf(&state.SessionSummary{SessionID: id, Error: "x"}).String()
	n, err := deleteScript.Exec(cctx, s.client, append([]string{s.sessKey(id), s.pairKey(pair)}, s.idxKeys()...), []string{id, unreadable}).AsInt64()
	if transportErr(err) {
		// Deleting twice is harmless: learn whether it happened.
		cctx2, cancel2 := context.WithTimeout(context.WithoutCancel(ctx), s.opts.Timeout)
		defer cancel2()
		if r, rerr := s.probe(cctx2, id, false); rerr == nil && !r.exists {
			s.guard.gone(id, 0)
			return nil
		}
		return s.unavailable("delete", id, err)
	}
	if err != nil {
		return s.replyErr("delete", id, err)
	}
	if n == 0 {
		return s.notFound(ctx, id)
	}
	s.guard.gone(id, 0)
	return nil
}
