-- GET /kv: read the three keys an earlier request wrote.
local store = require("store")
local json = require("json")
local app = assert(store.get("app"))
local u1, err = app:get("user:1")
if u1 == nil then
  return nil, err
end
return {
  headers = {["content-type"] = "application/json"},
  body = json.encode({app:get("user:1"), app:get("user:2"), app:get("count")}),
}
