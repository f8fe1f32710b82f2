local n = 0
local function inc() n = n + 1 end
local ok1, e1 = pcall(function()
  inc()
  local ok2, e2 = pcall(function() inc(); error("inner") end)
  print(ok2, e2)
  inc()
  local m = 0
  local function f() m = m + 1 end
  pcall(error, "e")
  f(); f()
  print("m", m)
  error("outer")   -- raised after the inner pcall already returned
end)
inc()
print(n, ok1, e1)
-- three levels, each with its own captured local, error at the bottom
local log = {}
local function level(d)
  local v = d
  local get = function() return v end
  local ok, e = pcall(function()
    if d < 3 then return level(d + 1) end
    error("bottom")
  end)
  v = v * 10
  log[#log + 1] = d .. ":" .. get() .. ":" .. tostring(ok)
  return ok, e
end
print(level(1))
print(table.concat(log, " "))
print(pcall(pcall, error, "deep"))
