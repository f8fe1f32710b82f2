local n = 0
local function inc() n = n + 1 end
local depth = 0
local function r() depth = depth + 1; return 1 + r() end
for i = 1, 3 do
  local ok, e = pcall(r)
  print(ok, e:find("stack overflow") ~= nil, depth > 100)
  depth = 0
  inc()
end
print(n)
local function rp(d) local ok, e = pcall(rp, d + 1); if ok then return e end; return tostring(e) end
print(rp(0):find("C stack overflow") ~= nil)
inc()
print(n)
print(pcall(function() return "alive" end))
