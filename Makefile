# wasmkv — see README.md. Only Go is needed; `make test` installs redis-server and wabt
# with apt-get when a test needs them and they are missing.
GO      ?= go
GUEST   := host/guest.wasm
GUEST_SRC := $(shell find guest abi -name '*.go' -not -name '*_test.go') go.mod go.sum

.PHONY: all guest build test run bench check clean

all: build

guest: $(GUEST)

# The guest is a reactor: the host calls its exported run function on an instance
# initialised once with _initialize.
$(GUEST): $(GUEST_SRC)
	GOOS=wasip1 GOARCH=wasm $(GO) build -buildmode=c-shared -trimpath -o $@ ./guest

build: guest
	$(GO) build -o bin/wasmkv ./cmd/wasmkv

test: guest
	$(GO) test -race -count=1 ./...

run: guest
	$(GO) run ./cmd/wasmkv run examples/hello.lua

bench: guest
	$(GO) test -run '^$$' -bench . -benchmem ./...

check: guest
	$(GO) vet ./...
	GOOS=wasip1 GOARCH=wasm $(GO) vet ./guest/... ./abi/...
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

clean:
	rm -rf bin $(GUEST)
