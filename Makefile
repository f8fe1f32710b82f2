# wasmkv — see README.md. Only Go is needed; `make test` installs redis-server and wabt
# with apt-get when a test needs them and they are missing.
GO      ?= go
GUEST   := host/guest.wasm
GUEST_SRC := $(shell find guest abi govalue -name '*.go' -not -name '*_test.go') go.mod go.sum

WAT_SRC := $(wildcard host/testdata/wat/*.wat examples/*/*.wat wasmpass/testdata/*.wat)
WAT_OUT := $(WAT_SRC:.wat=.wasm)
PLUGIN  := examples/plugin-go/plugin.wasm
SDKTEST := host/testdata/sdkguest/guest.wasm

.PHONY: all guest wat plugins tools build test run bench check clean

all: build

guest: $(GUEST)

# The guest is a reactor: the host calls its exported run function on an instance
# initialised once with _initialize.
$(GUEST): $(GUEST_SRC)
	GOOS=wasip1 GOARCH=wasm $(GO) build -buildmode=c-shared -trimpath -o $@ ./guest

# Guests that are not Lua: a Go plugin built with the SDK, and raw WAT guests (the
# examples', and the hostile ones of the host's tests).
plugins: $(PLUGIN) $(SDKTEST) wat

$(PLUGIN): $(wildcard examples/plugin-go/*.go) $(GUEST_SRC)
	GOOS=wasip1 GOARCH=wasm $(GO) build -buildmode=c-shared -trimpath -o $@ ./examples/plugin-go

$(SDKTEST): $(wildcard host/testdata/sdkguest/*.go) $(GUEST_SRC)
	GOOS=wasip1 GOARCH=wasm $(GO) build -buildmode=c-shared -trimpath -o $@ ./host/testdata/sdkguest

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
test: guest plugins tools
	$(GO) run ./cmd/wasmkv run examples/hello.lua >/dev/null
	$(GO) run ./cmd/wasmkv run examples/plugin-go/plugin.wasm >/dev/null
	$(GO) test -race -count=1 -timeout 20m ./...

run: guest
	$(GO) run ./cmd/wasmkv run examples/hello.lua

# Benchmarks (policy decisions, engines, the sandbox against its baselines), then the
# driver that prints one table with every ratio from the same run (docs/performance.md).
bench: guest plugins tools
	$(GO) test -run '^$$' -bench . -benchmem ./policy/ ./engine/ ./bench/
	$(GO) run ./bench/table

include guest/puclua/build.mk

check: guest
	$(GO) vet ./...
	GOOS=wasip1 GOARCH=wasm $(GO) vet ./guest/... ./abi/... ./examples/plugin-go/
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

clean:
	rm -rf bin $(GUEST) $(PLUGIN) $(SDKTEST) $(WAT_OUT)
