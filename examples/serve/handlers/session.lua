-- GET /sessions/{id}: read the session, bump its hit counter, answer JSON.
local store = require("store")
local json = require("json")

local req = ...
local sessions = assert(store.get("sessions"))
local id = req.params.id
local s, err = sessions:get("session:" .. id)
if s == nil then
  return nil, err -- NotFound answers 404; any other kind its own status
end
local hits = assert(sessions:incr("hits:" .. id, 1))
return {
  status = 200,
  headers = {["content-type"] = "application/json"},
  body = assert(json.encode({id = id, user = s.user, hits = hits})),
}
