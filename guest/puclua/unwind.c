/* Lua's protected calls without setjmp: wasm32-wasi (bookworm's wasi-libc) has none.
 * LUAI_TRY (luaconf.h, patches/01-luaconf.patch) asks the host to run the protected
 * function through a nested call into wasmkv_lua_protected; LUAI_THROW asks the host to
 * unwind to the innermost such call, whose try then returns non-zero. The host restores
 * the exported __stack_pointer, so the C stack of the abandoned frames is reclaimed.
 * The host side is host/unwind.go. */
#include <stdint.h>

__attribute__((import_module("wasmkv_lua_v1"), import_name("try")))
int32_t wasmkv_lua_try(void *L, void *f, void *ud);
__attribute__((import_module("wasmkv_lua_v1"), import_name("throw")))
void wasmkv_lua_throw(void);

typedef void (*pfunc)(void *L, void *ud);

__attribute__((export_name("wasmkv_lua_protected")))
void wasmkv_lua_protected(void *L, void *f, void *ud) { ((pfunc)f)(L, ud); }

int luai_wasmkv_try(void *L, void *f, void *ud) { return wasmkv_lua_try(L, f, ud); }

void luai_wasmkv_throw(void) {
	wasmkv_lua_throw();
	__builtin_trap(); /* the host never returns from throw */
}
