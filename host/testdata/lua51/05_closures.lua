local x = 1
local before = function() return x end
local setb = function(v) x = v end
pcall(error, "boom")
local after = function() return x end
setb(10)
print(x, before(), after())
x = 20
print(before(), after())
-- closure created inside the failing function keeps its own value
local g, h
pcall(function()
  local y = 5
  g = function() y = y + 1; return y end
  h = function() return y end
  error("e")
end)
local a, b, c, d, e = 100, 200, 300, 400, 500  -- reuse registers
print(g(), g(), h())
local k
xpcall(function() local z = 42; k = function() return z end; error("e") end, function(m) return m end)
local p, q, r, s = 1, 2, 3, 4
print(k())
-- closure created after a successful pcall
local ok, v = pcall(function() return x * 2 end)
local late = function() x = x + 1 end
late()
print(ok, v, x, before())
