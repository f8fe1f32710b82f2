-- The script `make run` runs: store a value, read it back, print it.
local store = require("store")

local cache, err = store.get("app:cache")
if err then
    return nil, err
end

local ok, serr = cache:set("greeting", {text = "hello from the sandbox", n = 1}, 60)
if not ok then
    return nil, serr
end

local v = cache:get("greeting")
print(v.text .. " (" .. tostring(v.n) .. ")")
print("has greeting:", cache:has("greeting"))
cache:release()
