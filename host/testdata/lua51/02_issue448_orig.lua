local a
function Use_a()
  print(type(a))
  a('test')
end
pcall(function()
  error('an error')
end)
a = function(prompt)
  print(prompt)
end
Use_a()
