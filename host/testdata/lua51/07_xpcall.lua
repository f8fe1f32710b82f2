local n = 0
local function inc() n = n + 1 end
print(xpcall(function() error("a") end, function(e) inc(); return "h:" .. e, "dropped" end))
inc()
print(n)
print(xpcall(function() return 1, nil, 3 end, print))
local t = {}
print(xpcall(function() error(t) end, function(e) return e == t end))
print(xpcall(function() local ok, e = pcall(error, "in"); inc(); error("out:" .. e) end, function(e) return e end))
inc(); print(n)
