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

# The npm tools make test runs (the TypeScript compiler that checks the
# declarations, the checkers of the npm package), pinned by
# tools/package-lock.json (a new release tightens its checks) and installed
# into build/npm with npm ci, never globally.
NPMDIR     := $(BUILD)/npm
NPMBIN     := $(NPMDIR)/node_modules/.bin
TSC        := $(NPMBIN)/tsc
PACKAGE    := $(BUILD)/package
VERSION    := $(shell sed -n 's/^const Version = "\(.*\)"$$/\1/p' wasm/resumer/version.go)
TARBALL    := $(BUILD)/go-resumer-resumer-$(VERSION).tgz

.PHONY: build run test check typecheck npmtools package package-check deps tools test-native test-wasm examples stress fuzz fuzz-smoke fuzz-run bench clean

build:
	$(GO) run ./serve -build-only -web $(WEB)

run: build
	$(GO) run ./serve -addr $(ADDR) -data $(BUILD)/data -web $(WEB)

test: deps tools check typecheck package-check examples test-native test-wasm fuzz-smoke

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
# codes other than the ErrorCode type's, and if docs/api.md (the reference)
# fails to name one of the declarations' names. hash-wasm.mjs fails if
# web/hash-wasm.js is not the pinned hash-wasm's code as it writes it.
typecheck: npmtools build
	$(TSC) --noEmit --strict -p web/ts-example
	$(TSC) --noEmit --strict -p web/ts-example/sw
	node web/ts-example/check-exports.mjs $(NPMDIR)/node_modules/typescript $(WEB)
	node tools/hash-wasm.mjs $(NPMDIR)/node_modules web/hash-wasm.js --check

# npmtools installs the pinned npm tools unless they are there already.
npmtools:
	@command -v npm >/dev/null 2>&1 || { echo "the npm tools need node and npm: .ci/deps installs them" >&2; exit 1; }
	@mkdir -p $(NPMDIR)
	@cmp -s tools/package-lock.json $(NPMDIR)/package-lock.json || { \
	  cp tools/package.json tools/package-lock.json $(NPMDIR)/ && \
	  (cd $(NPMDIR) && npm ci --no-audit --no-fund --loglevel=error); }

# package makes the npm package of the library alone (no demo):
# $(TARBALL), from the bundle and web/package.json, whose "files" list what
# it holds.
package: build
	rm -rf $(PACKAGE) && mkdir -p $(PACKAGE)
	for f in $$(node -e 'for (const f of require("./web/package.json").files) console.log(f)'); do \
	  if [ -e $(WEB)/$$f ]; then cp $(WEB)/$$f $(PACKAGE)/; else cp $$f $(PACKAGE)/; fi; \
	done
	cp web/package.json $(PACKAGE)/
	cd $(PACKAGE) && npm pack --pack-destination $(abspath $(BUILD)) --loglevel=error >/dev/null
	@echo "$(TARBALL):"; tar -tzvf $(TARBALL) | awk '{print "  " $$3 "\t" $$6}'

# package-check lints the package as npm and TypeScript users will see it
# (publint; are-the-types-wrong, for ESM-only resolution: the package is a
# browser module). The ./resumer.wasm export is a file for bundlers and
# servers, with no types to check.
package-check: npmtools package
	$(NPMBIN)/publint --strict $(PACKAGE)
	$(NPMBIN)/attw $(TARBALL) --profile esm-only --exclude-entrypoints ./resumer.wasm ./resumer-sw-classic.js

# test-native runs every native package (the engine against the real dev
# server, and the browser tests, which drive three browsers from Go) with
# the race detector.
test-native:
	RESUMER_EXAMPLES=$(EXAMPLES) $(GO) test -race -count=1 -shuffle=on -timeout 40m ./...

STRESS ?= 5

stress: deps examples
	RESUMER_EXAMPLES=$(EXAMPLES) $(GO) test -count=$(STRESS) -shuffle=on -timeout $$(( $(STRESS) * 30 + 10 ))m ./serve/e2e/

test-wasm: tools
	PATH=$(TOOLS):$$PATH GOOS=js GOARCH=wasm $(GO) test -count=1 ./wasm/...

# examples builds the apps under examples/, each of which uses resumer as
# its users do (see examples/README.md): a Go program in the browser; a Vite
# and a webpack app, each built in a copy under build/examples with its own
# pinned tools (npm ci, the committed lockfile) and the package just made
# ($(TARBALL), installed as npm installs a published one); a static page
# and the package unpacked as a CDN would serve it. serve/e2e's
# TestExamples serves them to three browsers.
EXAMPLES := $(abspath $(BUILD)/examples)
BUNDLED  := vite webpack workbox transformers

examples: package
	cd examples/gowasm && GOOS=js GOARCH=wasm $(GO) vet . && GOOS=js GOARCH=wasm $(GO) build -o $(EXAMPLES)/gowasm.wasm .
	@for app in $(BUNDLED); do \
	  dir=$(EXAMPLES)/$$app; mkdir -p $$dir; \
	  find $$dir -mindepth 1 -maxdepth 1 ! -name node_modules ! -name package-lock.json -exec rm -rf {} +; \
	  tar -C examples/$$app --exclude=node_modules --exclude=dist -cf - . | tar -C $$dir -xf - || exit 1; \
	  ( cd $$dir && \
	    { [ -d node_modules ] && cmp -s $(CURDIR)/examples/$$app/package-lock.json node_modules/.package-lock-source || \
	      { npm ci --no-audit --no-fund --loglevel=error && cp package-lock.json node_modules/.package-lock-source; }; } && \
	    npm install --no-save --no-audit --no-fund --loglevel=error $(abspath $(TARBALL)) && \
	    npm run --silent build >build.log 2>&1 || { cat build.log; exit 1; } ) || exit 1; \
	  echo "examples/$$app: $$(ls $$dir/dist | wc -l) files in $$dir/dist"; \
	done
	rm -rf $(EXAMPLES)/static && mkdir -p $(EXAMPLES)/static/cdn
	cp examples/static/index.html $(EXAMPLES)/static/
	tar -xzf $(TARBALL) -C $(EXAMPLES)/static/cdn --strip-components=1

FUZZPKGS := ./wasm/protocol ./wasm/resumer ./serve/devserver

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
