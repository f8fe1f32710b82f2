package engine

import "github.com/redis/go-redis/v9"

// The Redis engine's server-side scripts. Each runs atomically on the
// server, so a write, its version, its expiry and its index entries change
// together or not at all.
//
// Layout under the store's prefix P (see Redis):
//
//	P k: <key>   hash {v = value, ver = version}, with PEXPIREAT when it has a ttl
//	P i          sorted set of every key (raw bytes), all scores 0: ZRANGEBYLEX order is byte order
//	P e          sorted set of the keys that have a ttl, scored by deadline (unix ms, server clock)
//	P v          the version counter (INCR), never deleted
//
// A key whose hash Redis has expired stays in "P i" (and "P e") until a list
// walks over it, a write reaps it, or a full store purges it. Liveness is
// always decided by the hash, never by a score.
//
// Scripts pass numbers to Redis as strings made with %.0f: Lua numbers are
// doubles and Redis would otherwise format them itself.

// luaReap is shared by the write script: it frees index entries of keys whose
// deadline has passed and whose hash Redis has already expired. ARGV[7] is
// the data key prefix. limit 0 means all of them.
const luaReap = `
local function reap(now, limit)
  local cands
  if limit > 0 then
    cands = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', string.format('%.0f', now), 'LIMIT', 0, limit)
  else
    cands = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', string.format('%.0f', now))
  end
  for _, m in ipairs(cands) do
    if redis.call('EXISTS', ARGV[7] .. m) == 0 then
      redis.call('ZREM', KEYS[2], m)
      redis.call('ZREM', KEYS[3], m)
    end
  end
end
`

// putScript is Set, Put and Update's write.
//
//	KEYS: data hash, index, expiries, version counter
//	ARGV: 1 raw key, 2 value, 3 ttl in ms ("0": none), 4 mode ("0" plain,
//	      "1" only if absent, "2" if version), 5 expected version,
//	      6 max size ("0": unlimited), 7 data key prefix
//
// It returns {"OK", version} or {"EXISTS"}, {"CONFLICT"}, {"FULL"}.
var putScript = redis.NewScript(luaReap + `
local mode = ARGV[4]
if mode == '1' then
  if redis.call('EXISTS', KEYS[1]) == 1 then return {'EXISTS'} end
elseif mode == '2' then
  if redis.call('HGET', KEYS[1], 'ver') ~= ARGV[5] then return {'CONFLICT'} end
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
-- A little housekeeping on every write keeps the index close to the live
-- keys without a background sweeper.
reap(now, 4)
local max = tonumber(ARGV[6])
if max > 0 and not redis.call('ZSCORE', KEYS[2], ARGV[1]) and redis.call('ZCARD', KEYS[2]) >= max then
  -- A new key in a full store: purge every expired key first, as memory does.
  reap(now, 0)
  if redis.call('ZCARD', KEYS[2]) >= max then return {'FULL'} end
end
redis.call('INCR', KEYS[4])
local ver = redis.call('GET', KEYS[4])
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'ver', ver)
local ttl = tonumber(ARGV[3])
if ttl > 0 then
  local at = string.format('%.0f', now + ttl)
  redis.call('PEXPIREAT', KEYS[1], at)
  redis.call('ZADD', KEYS[3], at, ARGV[1])
else
  redis.call('PERSIST', KEYS[1])
  redis.call('ZREM', KEYS[3], ARGV[1])
end
redis.call('ZADD', KEYS[2], 0, ARGV[1])
return {'OK', ver}
`)

// getScript reads one entry: {value, version, pttl}, or {} when the key is
// missing or expired. One script, so the three reads are consistent.
//
//	KEYS: data hash
var getScript = redis.NewScript(`
local r = redis.call('HMGET', KEYS[1], 'v', 'ver')
if not r[1] then return {} end
return {r[1], r[2], redis.call('PTTL', KEYS[1])}
`)

// deleteScript removes a key and its index entries; it returns 1 if a live
// key was removed (DEL does not count a key that is already expired).
//
//	KEYS: data hash, index, expiries
//	ARGV: 1 raw key
var deleteScript = redis.NewScript(`
local n = redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
return n
`)

// listScript walks the index from a lex bound and returns up to limit live
// entries, removing the index entries of expired keys as it passes them.
//
//	KEYS: index, expiries
//	ARGV: 1 data key prefix, 2 start bound, 3 end bound (ZRANGEBYLEX syntax),
//	      4 limit (>= 0), 5 budget of expired keys to remove in this call
//
// It returns {status, cursor, key1, value1, version1, pttl1, key2, ...}:
// status 0 means no further live key in range, 1 that one exists (has_more),
// 2 that the budget ran out: the caller continues after cursor, which keeps
// one call from blocking the server on a long run of expired keys.
var listScript = redis.NewScript(`
local limit = tonumber(ARGV[4])
local budget = tonumber(ARGV[5])
local batch = math.max(16, math.min(limit + 1, 256))
local out = {0, ''}
local found = 0
local start = ARGV[2]
while true do
  local ms = redis.call('ZRANGEBYLEX', KEYS[1], start, ARGV[3], 'LIMIT', 0, batch)
  for i = 1, #ms do
    local m = ms[i]
    local dk = ARGV[1] .. m
    local r = redis.call('HMGET', dk, 'v', 'ver')
    if r[1] then
      if found == limit then
        out[1] = 1
        return out
      end
      found = found + 1
      out[#out + 1] = m
      out[#out + 1] = r[1]
      out[#out + 1] = r[2]
      out[#out + 1] = redis.call('PTTL', dk)
    else
      redis.call('ZREM', KEYS[1], m)
      redis.call('ZREM', KEYS[2], m)
      budget = budget - 1
      if budget <= 0 then
        out[1] = 2
        out[2] = m
        return out
      end
    end
  end
  if #ms < batch then return out end
  start = '(' .. ms[#ms]
end
`)
