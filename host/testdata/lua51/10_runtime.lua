local n = 0
local function inc() n = n + 1 end
local a
local ok, e = pcall(function() return a + 1 end)
print(ok, e:match("^(.-:%d+:)"))
ok, e = pcall(function() local t = {}; t.x.y = 1 end)
print(ok, e:match("^(.-:%d+:)"))
ok, e = pcall(function() undefinedfn() end)
print(ok, e:match("^(.-:%d+:)"))
ok, e = pcall(string.rep)
print(ok, type(e))
inc(); inc()
print(n)
