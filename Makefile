# wasmkv — see README.md. Only Go is needed; `make test` installs redis-server and wabt
# with apt-get when a test needs them and they are missing.
GO      ?= go
GUEST_SRC := $(shell find guest abi govalue -name '*.go' -not -name '*_test.go') go.mod go.sum

WAT_SRC := $(wildcard host/testdata/wat/*.wat examples/*/*.wat wasmpass/testdata/*.wat)
WAT_OUT := $(WAT_SRC:.wat=.wasm)
PLUGIN  := examples/plugin-go/plugin.wasm
SDKTEST := host/testdata/sdkguest/guest.wasm

.PHONY: all guest guest-check wat plugins tools build test run serve bench check clean

all: build

# The guests package host embeds. Each is committed as NAME.wasm.gz, so that a clone
# (and every Go program importing host) builds with the Go toolchain alone; NAME.wasm is
# its build, which is not committed. To add a guest: append its .wasm.gz here and give
# its .wasm a rule that writes under $(O). O is where the build goes: empty for the
# repository itself, a temporary directory for guest-check. The PUC Lua guest
# (host/puclua.wasm.gz) needs clang, so guest/puclua/build.mk builds and checks it
# (make puclua, make puclua-check); package host embeds it with these.
O      :=
GUESTS := host/guest.wasm.gz

# The builds are reproducible: the same sources and toolchain give the same bytes in any
# directory on any machine (-trimpath; no VCS stamp; the wasm feature set pinned; gzip
# by internal/gzip, with no name or time in its header). The Go guests are built by the
# toolchain go.mod names (its toolchain line, else its go line), which the go command
# fetches if this one differs.
GUEST_TOOLCHAIN := $(or $(shell sed -n 's/^toolchain //p' go.mod),go$(shell sed -n 's/^go //p' go.mod))
GO_GUEST = GOTOOLCHAIN=$(GUEST_TOOLCHAIN) GOOS=wasip1 GOARCH=wasm GOWASM= GOFLAGS= CGO_ENABLED=0 \
	$(GO) build -buildmode=c-shared -trimpath -buildvcs=false

guest: $(addprefix $(O),$(GUESTS))

# The Lua guest is a reactor: the host calls its exported run function on an instance
# initialised once with _initialize.
$(O)host/guest.wasm: $(GUEST_SRC)
	@mkdir -p $(@D)
	$(GO_GUEST) -o $@ ./guest

$(O)%.wasm.gz: $(O)%.wasm internal/gzip/main.go
	GOTOOLCHAIN=$(GUEST_TOOLCHAIN) $(GO) run ./internal/gzip < $< > $@.tmp && mv $@.tmp $@

# guest-check builds every guest afresh in a temporary directory and fails unless each
# equals the committed artifact. CI runs it first, before anything rebuilds in place.
guest-check:
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	$(MAKE) --no-print-directory -B O="$$tmp/" guest >/dev/null && \
	for f in $(GUESTS); do \
		if ! cmp -s "$$f" "$$tmp/$$f"; then \
			echo "$$f is stale: run make guest and commit it (built with $(GUEST_TOOLCHAIN))" >&2; exit 1; \
		fi; \
	done && echo "guest artifacts match their sources: $(GUESTS)"

# Guests that are not Lua: a Go plugin built with the SDK, and raw WAT guests (the
# examples', and the hostile ones of the host's tests).
plugins: $(PLUGIN) $(SDKTEST) wat

$(PLUGIN): $(wildcard examples/plugin-go/*.go) $(GUEST_SRC)
	$(GO_GUEST) -o $@ ./examples/plugin-go

$(SDKTEST): $(wildcard host/testdata/sdkguest/*.go) $(GUEST_SRC)
	$(GO_GUEST) -o $@ ./host/testdata/sdkguest

wat: $(WAT_OUT)

%.wasm: %.wat | tools
	wat2wasm --enable-all -o $@ $<

# Tools the tests need, installed from Debian's packages when missing.
tools:
	@command -v wat2wasm >/dev/null || $(call apt_install,wabt)
	@command -v redis-server >/dev/null || $(call apt_install,redis-server)

# apt_install installs a Debian package, as root or through sudo, updating the package
# lists once if the first attempt fails.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
apt_install = { $(SUDO) apt-get install -y --no-install-recommends $(1) >/dev/null 2>&1 || \
	{ $(SUDO) apt-get update >/dev/null && $(SUDO) apt-get install -y --no-install-recommends $(1); }; } || \
	{ echo "could not install $(1), which the tests need" >&2; exit 1; }

build: guest
	$(GO) build -o bin/wasmkv ./cmd/wasmkv

# The first runs compile the Lua guest and the Go plugin into the on-disk cache outside
# -race, where wazero's compiler is several times faster; the tests then load them from it.
# Allocation tests (every test with Alloc in its name) run again outside -race: the race
# detector allocates on its own (sync.Pool drops items at random), so what they claim
# holds only in a normal build. examples/embed is a module of its own, built and tested
# as an application that imports this one would be.
test: guest plugins tools
	$(GO) run ./cmd/wasmkv run examples/hello.lua >/dev/null
	$(GO) run ./cmd/wasmkv run examples/plugin-go/plugin.wasm >/dev/null
	$(GO) test -race -count=1 -timeout 20m ./...
	$(GO) test -count=1 -run Alloc ./...
	cd examples/embed && $(GO) test -count=1 ./...

run: guest
	$(GO) run ./cmd/wasmkv run examples/hello.lua

serve: guest
	$(GO) run ./cmd/wasmkv serve --config examples/serve/wasmkv.yaml

# Benchmarks (policy decisions, engines, the sandbox against its baselines), then the
# driver that prints one table with every ratio from the same run (docs/performance.md).
bench: guest plugins tools
	$(GO) test -run '^$$' -bench . -benchmem ./policy/ ./engine/ ./bench/
	$(GO) run ./bench/table
	$(GO) run ./bench/servetable

include guest/puclua/build.mk

check: guest
	$(GO) vet ./...
	cd examples/embed && $(GO) vet ./...
	GOOS=wasip1 GOARCH=wasm $(GO) vet ./guest/... ./abi/... ./examples/plugin-go/
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

clean:
	rm -rf bin $(GUESTS:.gz=) $(PLUGIN) $(SDKTEST) $(WAT_OUT)
