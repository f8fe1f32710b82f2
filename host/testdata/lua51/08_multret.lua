print(pcall(function() return 1, nil, 3 end))
print(select('#', pcall(function() return 1, nil, 3, nil end)))
print(pcall(function(...) return select('#', ...), ... end, 1, nil, 3))
print(pcall(function() end))
print(select('#', pcall(function() end)))
local big = {}
for i = 1, 200 do big[i] = i end
local r = {pcall(unpack, big)}
print(#r, r[1], r[2], r[201])
print(pcall(setmetatable({}, {__call = function(self, a, b) return a + b end}), 2, 3))
print(pcall(nil))
print(pcall({}))
print(pcall(pcall, function() return "x" end))
