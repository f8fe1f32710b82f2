# The PUC Lua 5.1.5 guest (guest/puclua), included by the Makefile.
#
# Lua's sources are Debian's lua5.1 source package, fetched at build time through a
# private apt configuration (fetch.sh) and never committed; our changes to them are the
# patches in guest/puclua/patches. The toolchain is Debian's clang-22, lld-22, the wasm32
# compiler runtime and wasi-libc. The result is committed gzipped (host/puclua.wasm.gz,
# embedded by host/puclua.go); `make puclua-check` rebuilds it and fails if it differs.

PUCLUA_DIR   := guest/puclua
PUCLUA_BUILD := $(PUCLUA_DIR)/build
PUCLUA_SRC   := $(PUCLUA_BUILD)/src/src
PUCLUA_WASM  := $(PUCLUA_BUILD)/puclua.wasm
PUCLUA_GZ    := host/puclua.wasm.gz
PUCLUA_OURS  := $(wildcard $(PUCLUA_DIR)/*.c $(PUCLUA_DIR)/*.h)
PUCLUA_PATCHES := $(wildcard $(PUCLUA_DIR)/patches/*.patch)
# Lua's core and the libraries the guest opens; no io, os, debug, or lua.c/luac.c.
PUCLUA_LUA_C := lapi lcode ldebug ldo ldump lfunc lgc llex lmem lobject lopcodes lparser \
	lstate lstring ltable ltm lundump lvm lzio lauxlib lbaselib ltablib lstrlib lmathlib loadlib
PUCLUA_CC    := clang-22
# Fixed flags, and paths mapped away, so that the same sources give the same bytes.
PUCLUA_CFLAGS := --target=wasm32-wasi -Wno-deprecated -O2 -std=gnu99 -DLUA_WASMKV \
	-ffile-prefix-map=$(CURDIR)=. -fno-ident -Wall -Wno-unused-parameter
PUCLUA_LDFLAGS := --target=wasm32-wasi -Wno-deprecated -mexec-model=reactor -Wl,--export=__stack_pointer \
	-Wl,-z,stack-size=1048576 -Wl,--strip-debug -Wl,--no-entry

.PHONY: puclua puclua-check puclua-tools

puclua: $(PUCLUA_GZ)

$(PUCLUA_GZ): $(PUCLUA_WASM)
	gzip -n -9 -c $< >$@

$(PUCLUA_WASM): $(PUCLUA_OURS) $(PUCLUA_PATCHES) $(PUCLUA_DIR)/build.mk $(PUCLUA_DIR)/fetch.sh | puclua-tools
	rm -rf $(PUCLUA_BUILD)/src
	$(PUCLUA_DIR)/fetch.sh $(PUCLUA_BUILD)
	echo "$(PUCLUA_ORIG_SHA256)  $$(ls $(PUCLUA_BUILD)/dl/lua5.1_*.orig.tar.gz)" | sha256sum -c --quiet
	for p in $(PUCLUA_PATCHES); do patch -s -d $(PUCLUA_BUILD)/src -p1 <$$p || exit 1; done
	mkdir -p $(PUCLUA_BUILD)/obj
	for f in $(PUCLUA_LUA_C); do \
		$(PUCLUA_CC) $(PUCLUA_CFLAGS) -w -c $(PUCLUA_SRC)/$$f.c -o $(PUCLUA_BUILD)/obj/$$f.o || exit 1; done
	for f in $(PUCLUA_OURS:.h=); do case $$f in *.c) \
		$(PUCLUA_CC) $(PUCLUA_CFLAGS) -I$(PUCLUA_SRC) -c $$f -o $(PUCLUA_BUILD)/obj/$$(basename $$f .c).o || exit 1;; esac; done
	$(PUCLUA_CC) $(PUCLUA_LDFLAGS) -o $@ $$(ls $(PUCLUA_BUILD)/obj/*.o | LC_ALL=C sort)

# Lua 5.1.5's release tarball, as Debian ships it.
PUCLUA_ORIG_SHA256 := 2640fc56a795f29d28ef15e13c34a47e223960b0240e8cb0a82d9b0738695333

# puclua-check rebuilds the guest from scratch and compares it with the committed one.
puclua-check:
	rm -rf $(PUCLUA_BUILD)/obj $(PUCLUA_WASM)
	$(MAKE) --no-print-directory $(PUCLUA_WASM)
	gzip -n -9 -c $(PUCLUA_WASM) | cmp - $(PUCLUA_GZ) || \
		{ echo "$(PUCLUA_GZ) is not what the sources build; run make puclua and commit it" >&2; exit 1; }

puclua-tools:
	@command -v $(PUCLUA_CC) >/dev/null || $(call apt_install,clang-22)
	@command -v wasm-ld-22 >/dev/null || $(call apt_install,lld-22)
	@[ -e /usr/lib/llvm-22/lib/clang/22/lib/wasm32-unknown-wasi/libclang_rt.builtins.a ] || \
		ls /usr/lib/llvm-22/lib/clang/*/lib/*wasi*/* >/dev/null 2>&1 || $(call apt_install,libclang-rt-22-dev-wasm32)
	@[ -e /usr/lib/wasm32-wasi/libc.a ] || $(call apt_install,wasi-libc)
	@command -v patch >/dev/null || $(call apt_install,patch)
