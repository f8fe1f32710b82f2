-- A session store: create a session with a TTL, read it, and end it.
-- usage: wasmkv run examples/session.lua [USER_ID]
local store = require("store")

local user_id = tonumber((...)) or 123
local cache, err = store.get("app:cache")
if err then
    return nil, err
end

local sid = "session:" .. user_id
assert(cache:set(sid, {user_id = user_id, role = "admin", scopes = {"read", "write"}}, 300))

local s = cache:get(sid)
print(string.format("session for user %d, role %s, %d scopes", s.user_id, s.role, #s.scopes))

-- A missing key reads as nil with a NotFound error, so `if not v` works.
local missing, merr = cache:get("session:nobody")
print("missing:", tostring(missing), merr and merr:kind())

print("deleted:", cache:delete(sid))
print("deleted again:", cache:delete(sid))
cache:release()
