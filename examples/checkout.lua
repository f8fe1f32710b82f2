-- A checkout step for module web.checkout: take a per-cart lock, record the order,
-- bump a counter. Run with: wasmkv run --config examples/wasmkv.yaml --module web.checkout examples/checkout.lua CART
local store = require("store")

local cart = (...) or "cart-42"
local locks, err = store.get("app:locks")
if err then
    return nil, err
end
local orders
orders, err = store.get("app:orders")
if err then
    return nil, err
end

local lock = "lock:" .. cart
if locks:has(lock) then
    return nil, errors.new("CONFLICT", "cart " .. cart .. " is being checked out")
end
assert(locks:set(lock, true, 5))

local ok, serr = orders:set("order:" .. cart, {cart = cart, items = {"book", "pen"}, total = 27.5})
if not ok then
    return nil, serr
end
print("order recorded for " .. cart)

-- This module may not touch the admin keys; the policy denies it.
local _, derr = orders:set("admin:note", "x")
print("admin write:", derr and derr:kind())

locks:delete(lock)
locks:release()
orders:release()
