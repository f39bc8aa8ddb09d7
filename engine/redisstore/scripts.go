package redisstore

import "github.com/redis/rueidis"

// The Lua scripts. Each runs atomically in Redis and is sent with EVALSHA
// (rueidis falls back to EVAL once after NOSCRIPT, for instance after a
// restart, which reloads it). Every key a script touches is in KEYS and
// under the store's one hash tag, so the scripts are legal on a cluster.
//
// A session is a hash: version (a decimal integer, the Store version),
// doc (the state JSON), write_id (the random id of the save that wrote
// it) and pair (the hex hash naming its active-pair key). A hash with a
// "fenced" field and no version is the marker left by a create whose
// outcome was unknown; it reads as no session and expires by itself.
// The active-pair key is a string holding the session id.

// Reply codes of the scripts: the first element of the returned array.
const (
	codeOK       = 0
	codeConflict = 1 // second element: the current version (0: the key exists without one)
	codeNotFound = 2
	codePair     = 3 // the session's workflow_type or target_file changed
)

// saveScript: KEYS[1] session, KEYS[2] active-pair key of its pair.
// ARGV: expected version, doc, write_id, ttl in ms (0: no expiry),
// session id, "1" when the session is completed (release the pair),
// pair hash.
//
// It compares the version, writes version, doc, write_id and pair,
// refreshes the TTL of the session and of the pair key while that key
// holds this session, and deletes the pair key, if it still holds this
// session, when the session is completed. A create of an active session
// claims a free pair.
var saveScript = rueidis.NewLuaScript(`
local k, pk = KEYS[1], KEYS[2]
local exp, ttl, id = tonumber(ARGV[1]), tonumber(ARGV[4]), ARGV[5]
if exp == 0 then
  if redis.call('EXISTS', k) == 1 then
    return {1, tonumber(redis.call('HGET', k, 'version') or '0')}
  end
else
  local cur = redis.call('HGET', k, 'version')
  if not cur then return {2, 0} end
  cur = tonumber(cur)
  if cur ~= exp then return {1, cur} end
  local p = redis.call('HGET', k, 'pair')
  if p and p ~= ARGV[7] then return {3, cur} end
end
local nv = exp + 1
redis.call('HSET', k, 'version', nv, 'doc', ARGV[2], 'write_id', ARGV[3], 'pair', ARGV[7])
if ttl > 0 then redis.call('PEXPIRE', k, ttl) else redis.call('PERSIST', k) end
local owner = redis.call('GET', pk)
if ARGV[6] == '1' then
  if owner == id then redis.call('DEL', pk) end
elseif owner == id then
  if ttl > 0 then redis.call('PEXPIRE', pk, ttl) end
elseif not owner and exp == 0 then
  redis.call('SET', pk, id)
  if ttl > 0 then redis.call('PEXPIRE', pk, ttl) end
end
return {0, nv}
`)

// Reply codes of createScript.
const (
	codeCreated = 0 // {0, id, 1}
	codeResumed = 1 // {1, id, version, doc}
	codeMoved   = 2 // {2, current index value or ""}: the index changed since it was read
	codeIDTaken = 3 // the new session's key exists (a fence marker): pick another id
)

// createScript makes "one active session per (workflow_type,
// target_file)" atomic: KEYS[1] the pair key, KEYS[2] the session the
// caller read from the pair key (or the new session's key when it read
// none), KEYS[3] the new session's key. ARGV: the id the caller read from
// the pair key ("" for none), new id, doc, write_id, ttl in ms, pair hash.
//
// When the pair key no longer holds what the caller read, nothing is
// written and the caller retries with the current value. When it holds a
// session that still exists, that session is returned (resume). When it
// holds a session that has vanished, the pair key is cleared (it is known
// to hold that id, since the check above just passed) and the new
// session is created and indexed in the same step.
var createScript = rueidis.NewLuaScript(`
local pk, ok, nk = KEYS[1], KEYS[2], KEYS[3]
local seen, id, ttl = ARGV[1], ARGV[2], tonumber(ARGV[5])
local cur = redis.call('GET', pk)
if (cur or '') ~= seen then return {2, cur or ''} end
if cur then
  local v = redis.call('HMGET', ok, 'version', 'doc')
  if v[1] then return {1, cur, tonumber(v[1]), v[2]} end
  redis.call('DEL', pk)
end
if redis.call('EXISTS', nk) == 1 then return {3} end
redis.call('HSET', nk, 'version', 1, 'doc', ARGV[3], 'write_id', ARGV[4], 'pair', ARGV[6])
redis.call('SET', pk, id)
if ttl > 0 then
  redis.call('PEXPIRE', nk, ttl)
  redis.call('PEXPIRE', pk, ttl)
end
return {0, id, 1}
`)

// releaseScript: KEYS[1] pair key; ARGV[1] session id. Deletes the pair
// key only while it still holds that id; returns 1 when it did.
var releaseScript = rueidis.NewLuaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`)

// deleteScript: KEYS[1] session, KEYS[2] its pair key; ARGV[1] session
// id. Deletes the session and, if it still holds this session, the pair
// key. Returns 0 when there was no session (a fence marker counts as
// none and is left to expire).
var deleteScript = rueidis.NewLuaScript(`
if not redis.call('HGET', KEYS[1], 'version') then return 0 end
redis.call('DEL', KEYS[1])
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
return 1
`)

// Reply codes of fenceScript.
const (
	fenceLanded = 0 // {0, version}: the save ran
	fenceFenced = 1 // {1, version}: it had not run and now never will
	fenceMoved  = 2 // {2, version}: another save ran first; it never will
	fenceGone   = 3 // {3}: the session no longer exists; it never will
)

// fenceScript settles a save whose reply was lost. KEYS[1] session. ARGV:
// the save's expected version, its write_id, the marker TTL in ms.
//
// If the session carries the save's write_id, the save landed. Otherwise
// the script makes sure it never lands later (it may still be queued in
// another connection's buffer): for an update it bumps the version when
// it still equals the expected one, so the late save fails its
// comparison; for a create it leaves a short-lived marker hash under the
// session's key, so the late create finds the key taken. The doc is
// never touched.
var fenceScript = rueidis.NewLuaScript(`
local k, exp, wid = KEYS[1], tonumber(ARGV[1]), ARGV[2]
local v = redis.call('HMGET', k, 'version', 'write_id')
if v[2] == wid and v[1] then return {0, tonumber(v[1])} end
if exp == 0 then
  if redis.call('EXISTS', k) == 1 then return {2, tonumber(v[1] or '0')} end
  redis.call('HSET', k, 'fenced', wid)
  redis.call('PEXPIRE', k, tonumber(ARGV[3]))
  return {1, 0}
end
if not v[1] then return {3} end
local cur = tonumber(v[1])
if cur ~= exp then return {2, cur} end
redis.call('HSET', k, 'version', cur + 1, 'write_id', 'fence:' .. wid)
return {1, cur + 1}
`)
