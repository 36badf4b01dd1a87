# resumer: resumable, verified HTTP downloads in the browser (Go → WebAssembly).
#
#   make run     build the bundle and start the dev server with the demo
#   make test    everything: format, vet, the TypeScript declarations,
#                unit tests with the race detector, fuzz seeds, wasm tests
#                and browser tests
#   make stress  the browser tests five times over (STRESS=N for another
#                count): a test that fails one run in five is broken
#   make fuzz    run every fuzz target for FUZZTIME each
#   make bench   measure speed, memory, reload loss, resume time and size
#                in headless Chromium (not part of make test)
#   make build   the static bundle in build/web, for any web server

GO       ?= go
BUILD    := build
WEB      := $(BUILD)/web
TOOLS    := $(abspath $(BUILD)/tools)
ADDR     ?= 127.0.0.1:8080
FUZZTIME ?= 60s
# How many inputs each fuzz target tries in make test. A count rather than
# a time: a time limit that expires while a worker runs makes go test
# report "context deadline exceeded" as a failure on a loaded machine.
FUZZSMOKE ?= 20000x

# Pinned so that a new release cannot change how wasm tests run under us.
WASMBROWSERTEST := github.com/agnivade/wasmbrowsertest@v0.11.0

# The TypeScript compiler that checks web/resumer.d.ts, pinned for the same
# reason (a new release tightens its checks) and installed into build/npm
# with npm, never globally.
TYPESCRIPT := 5.9.3
NPMDIR     := $(BUILD)/npm
TSC        := $(NPMDIR)/node_modules/.bin/tsc

.PHONY: build run test check typecheck typescript deps tools test-native test-wasm examples stress fuzz fuzz-smoke fuzz-run bench clean

build:
	$(GO) run ./serve -build-only -web $(WEB)

run: build
	$(GO) run ./serve -addr $(ADDR) -data $(BUILD)/data -web $(WEB)

test: deps tools check typecheck test-native test-wasm examples fuzz-smoke

# deps installs what the browser tests need from Debian's packages.
deps:
	.ci/deps

tools: $(TOOLS)/go_js_wasm_exec

$(TOOLS)/go_js_wasm_exec:
	GOBIN=$(TOOLS) $(GO) install $(WASMBROWSERTEST)
	ln -sf wasmbrowsertest $(TOOLS)/go_js_wasm_exec

check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	GOOS=js GOARCH=wasm $(GO) vet ./...
	$(GO) mod tidy -diff

# typecheck compiles the TypeScript examples against the declarations that
# ship with resumer.js (web/ts-example: a page, lib "dom"; its sw/: a
# Service Worker, lib "webworker"); their @ts-expect-error lines fail the
# build if the declarations stop rejecting a mistake. check-exports.mjs
# fails if resumer.js has a public name the declarations lack, or error
# codes other than the ErrorCode type's.
typecheck: typescript build
	$(TSC) --noEmit --strict -p web/ts-example
	$(TSC) --noEmit --strict -p web/ts-example/sw
	node web/ts-example/check-exports.mjs $(NPMDIR)/node_modules/typescript $(WEB)

# typescript installs the pinned compiler unless it is there already.
typescript:
	@command -v npm >/dev/null 2>&1 || { echo "typecheck needs node and npm: .ci/deps installs them" >&2; exit 1; }
	@[ "$$($(TSC) --version 2>/dev/null)" = "Version $(TYPESCRIPT)" ] || \
	  npm install --prefix $(NPMDIR) --no-audit --no-fund --save-exact --loglevel=error typescript@$(TYPESCRIPT)

# test-native runs every native package (the engine against the real dev
# server, and the browser tests, which drive Chromium from Go) with the
# race detector.
test-native:
	$(GO) test -race -count=1 -shuffle=on -timeout 40m ./...

STRESS ?= 5

stress: deps
	$(GO) test -count=$(STRESS) -shuffle=on -timeout $$(( $(STRESS) * 30 + 10 ))m ./serve/e2e/

test-wasm: tools
	PATH=$(TOOLS):$$PATH GOOS=js GOARCH=wasm $(GO) test -count=1 ./wasm/...

# examples builds the programs under examples/, each a module of its own
# that uses resumer as a library would (examples/gowasm: a Go program in
# the browser).
examples:
	cd examples/gowasm && GOOS=js GOARCH=wasm $(GO) vet . && GOOS=js GOARCH=wasm $(GO) build -o $(abspath $(BUILD))/examples/gowasm.wasm .

FUZZPKGS := ./wasm/protocol ./serve/devserver

fuzz:
	@$(MAKE) --no-print-directory fuzz-run FUZZFOR=$(FUZZTIME)

# fuzz-smoke runs every fuzz target briefly: new inputs, not only the seeds.
fuzz-smoke:
	@$(MAKE) --no-print-directory fuzz-run FUZZFOR=$(FUZZSMOKE)

fuzz-run:
	@for pkg in $(FUZZPKGS); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "fuzz $$pkg $$f for $(FUZZFOR)"; \
	    out=$$($(GO) test -run '^$$' -fuzz "^$$f\$$" -fuzztime $(FUZZFOR) $$pkg 2>&1) || \
	      { echo "$$out"; exit 1; }; \
	  done; \
	done

bench: deps
	$(GO) run ./serve/bench $(BENCHFLAGS)

clean:
	rm -rf $(BUILD)
