print(pcall(error))
print(select('#', pcall(error)))
print(pcall(error, nil))
print(pcall(function() error() end))
