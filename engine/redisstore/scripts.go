package redisstore

import "github.com/redis/rueidis"

// The Lua scripts. Each runs atomically in Redis and is sent with EVALSHA
// (rueidis falls back to EVAL once after NOSCRIPT, for instance after a
// restart, which reloads it). Every key a script touches is in KEYS and
// under the store's one hash tag, so the scripts are legal on a cluster.
//
// A session is a hash: version (a decimal integer, the Store version),
// doc (the state JSON), write_id (the random id of the save that wrote
// it), pair (the hex hash naming its active-pair key) and sum (the JSON of
// its state.SessionSummary, what a list reads). A hash with a "fenced"
// field and no version is the marker left by a create whose outcome was
// unknown; it reads as no session and expires by itself. The active-pair
// key is a string holding the session id.
//
// The summary index: four sorted sets, idx:all, idx:active,
// idx:completed and idx:failed (the active sessions whose last gate
// attempt failed), whose members (all of score 0, so ordered by bytes)
// are the sessions' state.ListKey strings, and a hash idx:lk from session
// id to its member. The scripts that create, save and delete a session keep
// them in the same atomic step (indexLua); a session that expired leaves
// its members behind until a list meets them and removes them
// (pageScript).

// indexLua defines the index helpers every script that changes a session
// starts with. ix is the table {idx:all, idx:active, idx:completed,
// idx:failed, idx:lk} of key names; failed is '1' for an active session
// whose last gate attempt failed.
const indexLua = `
local function unindex(ix, id)
  local m = redis.call('HGET', ix[5], id)
  if m then
    for i = 1, 4 do redis.call('ZREM', ix[i], m) end
    redis.call('HDEL', ix[5], id)
  end
end
local function index(ix, id, m, status, failed)
  local old = redis.call('HGET', ix[5], id)
  if old and old ~= m then unindex(ix, id) end
  redis.call('HSET', ix[5], id, m)
  redis.call('ZADD', ix[1], 0, m)
  if status == 'active' then redis.call('ZADD', ix[2], 0, m) else redis.call('ZREM', ix[2], m) end
  if status == 'completed' then redis.call('ZADD', ix[3], 0, m) else redis.call('ZREM', ix[3], m) end
  if status == 'active' and failed == '1' then redis.call('ZADD', ix[4], 0, m) else redis.call('ZREM', ix[4], m) end
end
`

// Reply codes of the scripts: the first element of the returned array.
const (
	codeOK       = 0
	codeConflict = 1 // second element: the current version (0: the key exists without one)
	codeNotFound = 2
	codePair     = 3 // the session's workflow_type or target_file changed
)

// saveScript: KEYS[1] session, KEYS[2] active-pair key of its pair,
// KEYS[3..7] the index keys. ARGV: expected version, doc, write_id, ttl
// in ms (0: no expiry), session id, "1" when the session is completed
// (release the pair), pair hash, index member, status, summary JSON, "1"
// when its last gate attempt failed.
//
// It compares the version, writes version, doc, write_id and pair,
// refreshes the TTL of the session and of the pair key while that key
// holds this session, and deletes the pair key, if it still holds this
// session, when the session is completed. A create of an active session
// claims a free pair. It indexes the session under its member and status.
var saveScript = rueidis.NewLuaScript(indexLua + `
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
redis.call('HSET', k, 'version', nv, 'doc', ARGV[2], 'write_id', ARGV[3], 'pair', ARGV[7], 'sum', ARGV[10])
if ttl > 0 then redis.call('PEXPIRE', k, ttl) else redis.call('PERSIST', k) end
index({KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]}, id, ARGV[8], ARGV[9], ARGV[11])
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
// none), KEYS[3] the new session's key, KEYS[4..8] the index keys. ARGV:
// the id the caller read from the pair key ("" for none), new id, doc,
// write_id, ttl in ms, pair hash, index member, summary JSON, the largest
// document returned (a larger one comes back as false).
//
// When the pair key no longer holds what the caller read, nothing is
// written and the caller retries with the current value. When it holds a
// session that still exists, that session is returned (resume). When it
// holds a session that has vanished, the pair key is cleared (it is known
// to hold that id, since the check above just passed) and the new
// session is created and indexed in the same step.
var createScript = rueidis.NewLuaScript(indexLua + `
local pk, ok, nk = KEYS[1], KEYS[2], KEYS[3]
local seen, id, ttl = ARGV[1], ARGV[2], tonumber(ARGV[5])
local cur = redis.call('GET', pk)
if (cur or '') ~= seen then return {2, cur or ''} end
if cur then
  local t = redis.call('TYPE', ok).ok
  local v = t == 'hash' and redis.call('HGET', ok, 'version')
  if v then
    if redis.call('HSTRLEN', ok, 'doc') > tonumber(ARGV[9]) then return {1, cur, tonumber(v), false} end
    return {1, cur, tonumber(v), redis.call('HGET', ok, 'doc')}
  end
  if t ~= 'none' and t ~= 'hash' then return {1, cur, 0, false} end
  redis.call('DEL', pk)
end
if redis.call('EXISTS', nk) == 1 then return {3} end
redis.call('HSET', nk, 'version', 1, 'doc', ARGV[3], 'write_id', ARGV[4], 'pair', ARGV[6], 'sum', ARGV[8])
index({KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8]}, id, ARGV[7], 'active', '0')
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

// deleteScript: KEYS[1] session, KEYS[2] its pair key, KEYS[3..7] the
// index keys; ARGV[1] session id, ARGV[2] the index member of a session
// that cannot be read. Deletes the session, its index entries and, if it
// still holds this session, the pair key. A key that is not a hash
// (written by something else) is deleted too. Returns 0 when there was
// no session (a fence marker counts as none and is left to expire).
var deleteScript = rueidis.NewLuaScript(indexLua + `
local ix = {KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]}
local t = redis.call('TYPE', KEYS[1]).ok
if t == 'none' or t == 'hash' and not redis.call('HGET', KEYS[1], 'version') then
  unindex(ix, ARGV[1])
  redis.call('ZREM', KEYS[3], ARGV[2])
  return 0
end
redis.call('DEL', KEYS[1])
unindex(ix, ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[2])
local owner = redis.pcall('GET', KEYS[2])
if owner == ARGV[1] then redis.call('DEL', KEYS[2]) end
return 1
`)

// Reply codes of pageScript, per session.
const (
	pageGone      = 0 // {0}: the session no longer exists; its member was removed
	pageOK        = 1 // {1, summary JSON}
	pageWrongType = 2 // {2, type}: the key is not a hash
	pageNoSummary = 3 // {3}: the hash has no usable summary (saved by an older mcpflow, or too large)
)

// pageScript reads the summaries of one page. KEYS[1..5] the index keys,
// then one session key per member; ARGV[1] the largest summary returned,
// then the session id and the member of each session key. A member whose
// session is gone (expired, or a fence marker), or that is not the
// session's current member, is removed from the index.
var pageScript = rueidis.NewLuaScript(`
local ix = {KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]}
local lim = tonumber(ARGV[1])
local out = {}
for i = 6, #KEYS do
  local k, id, m = KEYS[i], ARGV[2*(i-5)], ARGV[2*(i-5)+1]
  local t = redis.call('TYPE', k).ok
  if t == 'hash' and redis.call('HGET', k, 'version') and redis.call('HGET', ix[5], id) == m then
    if redis.call('HSTRLEN', k, 'sum') > lim then
      out[#out+1] = {3}
    else
      local sum = redis.call('HGET', k, 'sum')
      if sum then out[#out+1] = {1, sum} else out[#out+1] = {3} end
    end
  elseif t == 'hash' or t == 'none' then
    for j = 1, 4 do redis.call('ZREM', ix[j], m) end
    if redis.call('HGET', ix[5], id) == m then redis.call('HDEL', ix[5], id) end
    out[#out+1] = {0}
  else
    out[#out+1] = {2, t}
  end
end
return out
`)

// indexScript indexes one session found by a rebuild (Store.Reindex):
// KEYS[1] the session, KEYS[2..6] the index keys; ARGV: session id, the
// version read ("0" for a key that holds no readable session), member,
// status, summary JSON ("" to leave the hash as it is), "1" when its last
// gate attempt failed. It does nothing
// when the session changed since it was read (a save indexes it itself).
// Returns 1 when it indexed.
var indexScript = rueidis.NewLuaScript(indexLua + `
local k = KEYS[1]
local ix = {KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]}
local t = redis.call('TYPE', k).ok
if ARGV[2] == '0' then
  if t == 'none' or t == 'hash' and not redis.call('HGET', k, 'version') then return 0 end
else
  if t ~= 'hash' or redis.call('HGET', k, 'version') ~= ARGV[2] then return 0 end
  if ARGV[5] ~= '' then redis.call('HSET', k, 'sum', ARGV[5]) end
end
index(ix, ARGV[1], ARGV[3], ARGV[4], ARGV[6])
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
