-- A lock with a lease: the first caller to put the key holds it, and the TTL releases it
-- even if the holder never does.
-- usage: wasmkv run examples/lock.lua RESOURCE OWNER
local store = require("store")

local resource, owner = ...
resource, owner = resource or "report-42", owner or "anonymous"
local cache, err = store.get("app:cache")
if err then
    return nil, err
end

local key = "lock:" .. resource
local _, perr = cache:put(key, {owner = owner}, {only_if_absent = true, ttl = 5})
if perr then
    if errors.is(perr, errors.ALREADY_EXISTS) then
        local holder = cache:get(key)
        return nil, errors.new("CONFLICT", key .. " is held by " .. (holder and holder.owner or "?"))
    end
    return nil, perr
end
print(owner .. " holds " .. key)
