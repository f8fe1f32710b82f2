local n = 0
local function inc() n = n + 1 end
inc()
pcall(function() error("x") end)
inc(); inc()
print(n)
