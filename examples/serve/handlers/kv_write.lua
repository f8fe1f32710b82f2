-- POST /kv: write three keys, for a later request to read.
local store = require("store")
local app = assert(store.get("app"))
assert(app:set("user:1", {name = "Ada"}))
assert(app:set("user:2", {name = "Grace"}))
assert(app:set("count", 2))
return {status = 201, body = "wrote 3 keys\n"}
