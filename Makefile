# Trellis. `make run` serves the app with demo data; `make test` is what CI runs: vet, every
# test with -race (fuzz targets run their seed corpora), then fuzz-ci.
export GOTOOLCHAIN := local
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
ADDR    ?= 127.0.0.1:8080
DATA    ?= ./data

.PHONY: run build test test-short generate check-generated lint bench bench-scale chromium screenshots fuzz fuzz-ci

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/trellis ./cmd/trellis

run: build
	./bin/trellis serve --dev --http-allow-private --addr $(ADDR) --data $(DATA)

generate:
	$(GO) tool templ generate

# Generated templ files are committed; this fails when they are stale.
check-generated:
	@scripts/check-generated

chromium:
	@scripts/ensure-chromium

test: check-generated chromium
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 40m ./...
	@$(MAKE) --no-print-directory fuzz-ci

# fuzz runs every Fuzz target (or those FUZZ matches, a regexp) for FUZZTIME each, found in
# the tracked *_test.go files, so a new target needs no listing here. A target that fails
# fails the run and leaves its input in the package's testdata/fuzz: commit it as a seed.
FUZZTIME ?= 10s
FUZZ     ?= .
fuzz:
	@set -e; for f in $$(grep -l '^func Fuzz' $$(git ls-files '*_test.go')); do \
		for t in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$f | grep -E '$(FUZZ)'); do \
			echo "== $$t in ./$$(dirname $$f)"; \
			$(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) ./$$(dirname $$f)/; \
		done; \
	done

# fuzz-ci is what make test runs after the tests: make fuzz with FUZZTIME_CI (3s) per target.
# -fuzz instruments every package in the test binary, and where that holds the Temporal
# server (engine, actions, web) the build takes more than 15 minutes; so the code under fuzz
# lives in small packages (designer, internal/redaction, internal/hookauth, web/schemaform),
# and fuzz-ci refuses a target whose package links Temporal.
FUZZTIME_CI ?= 3s
fuzz-ci:
	@set -e; for d in $$(dirname $$(grep -l '^func Fuzz' $$(git ls-files '*_test.go')) | sort -u); do \
		if $(GO) list -deps -test ./$$d/ | grep -q '^go.temporal.io/'; then \
			echo "fuzz-ci: ./$$d links Temporal, too slow to build for fuzzing in CI: move the code under fuzz to a small package"; \
			exit 1; \
		fi; \
	done
	@$(MAKE) --no-print-directory fuzz FUZZTIME=$(FUZZTIME_CI)

# test-short skips the browser and embedded-server tests, for a quick loop.
test-short:
	$(GO) test -short -count=1 ./...

lint:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go' | grep -v '_templ.go$$'))" || (gofmt -l $$(git ls-files '*.go' | grep -v '_templ.go$$'); exit 1)
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

bench:
	@scripts/bench

# bench-scale: the slow benchmarks (throughput_ratio, restart_resume_ratio, waiting10k_rss_mb,
# restart10k_resume_s; not in make test nor make bench). TRELLIS_SCALE_RUNS sets how many runs
# wait across the engine's worker restart (500).
bench-scale:
	@scripts/bench-scale

# screenshots writes docs/screenshots/{editor,inbox,task,run}-{800,1440}.png and docs/screenshot.png
# from the demo's refund graph and three of its runs (web/screenshots_test.go).
screenshots: chromium
	TRELLIS_DOCS_SCREENSHOTS=1 $(GO) test -count=1 -run '^TestScreenshots$$' -timeout 10m ./web/
