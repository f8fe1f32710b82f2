-- The store conformance sequence of sdkguest/main.go, in Lua: both must print the same.
local store = require("store")
local id = ...
local function et(e) if e == nil then return "nil" end return e:kind() .. "/" .. tostring(e:retryable()) end
local function p(...)
  local t = {}
  for i = 1, select("#", ...) do
    local v = select(i, ...)
    t[#t + 1] = tostring(v)
  end
  print(table.concat(t, " "))
end
local function keys(page)
  local ks = {}
  for _, it in ipairs(page.items) do ks[#ks + 1] = it.key end
  return "[" .. table.concat(ks, " ") .. "]"
end
local _, oerr = store.get("app:none")
p("open unknown", et(oerr))
local s = assert(store.get(id))
local _, e = s:set("user:1", {name = "Alice", n = 3}); p("set", et(e))
local u; u, e = s:get("user:1"); p("get", et(e), u.name, u.n)
_, e = s:get("missing"); p("get missing", et(e))
local ok; ok, e = s:has("user:1"); p("has", ok, et(e))
ok, e = s:has("missing"); p("has missing", ok, et(e))
_, e = s:set("", 1); p("set empty key", et(e))
_, e = s:set("ttl", "x", 30); p("set ttl", et(e))
local en; en, e = s:entry("ttl"); p("entry", et(e), en.key, en.value, en.version ~= "", en.ttl > 29 and en.ttl <= 30)
_, e = s:put("lock", true, {only_if_absent = true, ttl = 5}); p("put absent", et(e))
_, e = s:put("lock", true, {only_if_absent = true}); p("put absent again", et(e))
en = s:entry("user:1")
local en2; en2, e = s:put("user:1", "v2", {if_version = en.version}); p("put version", et(e), en2.version ~= en.version)
_, e = s:put("user:1", "v3", {if_version = en.version}); p("put stale version", et(e))
local n; n, e = s:incr("hits", 1); p("incr", n, et(e))
n, e = s:incr("hits", 5); p("incr", n, et(e))
_, e = s:incr("user:1", 1); p("incr string", et(e))
for i = 1, 5 do s:set("l:" .. i, i) end
local page; page, e = s:list({prefix = "l:", limit = 2}); p("list", et(e), keys(page), page.cursor, page.has_more)
page, e = s:list({prefix = "l:", after = page.cursor}); p("list next", et(e), keys(page), page.has_more)
_, e = s:list({limit = 1001}); p("list limit", et(e))
ok, e = s:delete("user:1"); p("delete", ok, et(e))
ok, e = s:delete("user:1"); p("delete again", ok, et(e))
local info; info, e = s:info(); p("info", et(e), info.backend, info.consistency, info.list, info.versioned)
s:release()
_, e = s:set("k", 1); p("after release", et(e))
