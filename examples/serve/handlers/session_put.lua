-- PUT /sessions/{id} with a JSON body: store it as the session, for an hour.
local store = require("store")
local json = require("json")

local req = ...
local s, err = json.decode(req.body)
if type(s) ~= "table" then
  return nil, err or errors.new("Invalid", "the body must be a JSON object")
end
local sessions = assert(store.get("sessions"))
assert(sessions:set("session:" .. req.params.id, s, 3600))
return {status = 201, body = ""}
