local fs, total, errs = {}, 0, 0
for i = 1, 1000 do
  local v = i
  fs[i] = function() v = v + 1; return v end
  local ok, e = pcall(function() local w = v; error({i = w}) end)
  if not ok and e.i == i then errs = errs + 1 end
  fs[i]()
  assert(v == i + 1, "loop local detached at " .. i)
  total = total + v
end
for i = 1, 1000 do assert(fs[i]() == i + 2, "closure " .. i) end
print(total, errs)
local cnt = 0
for i = 1, 1000 do
  local ok = pcall(function() cnt = cnt + 1; if i % 2 == 0 then error("even") end end)
end
print(cnt)
