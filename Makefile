# Switchyard: an AI gateway. `make help` lists the targets.
GO        ?= go
BIN       := bin/switchyard
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
PKGS      := ./...
STATICCHECK_VERSION := 2025.1.1
# Every go command builds with go-control-plane's generated vtprotobuf
# marshallers (the endpoint picker's messages: inference/codec.go); a build
# without the tag works and marshals them by reflection.
export GOFLAGS := -tags=vtprotobuf $(GOFLAGS)

.PHONY: help build run test node-deps llmd-sim controller-gen generate test-short check fmt vet staticcheck imports bench bench-go bench-compare clean

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN{FS=":.*?## "}{printf "  %-15s %s\n", $$1, $$2}'

build: ## build bin/switchyard
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/switchyard

run: build ## build and run the gateway on its embedded default configuration (127.0.0.1:8080, admin 127.0.0.1:15000)
	./$(BIN) run

test: node-deps llmd-sim controller-gen ## run every test with the race detector (unit and end-to-end through the binary)
	$(GO) test -race -count=1 -timeout 20m $(PKGS)

node-deps: ## install the pinned npm clients the end-to-end tests drive (skipped when npm is absent)
	@if command -v npm >/dev/null 2>&1; then \
		if [ ! -d test/node/node_modules ] || [ test/node/package-lock.json -nt test/node/node_modules ]; then \
			cd test/node && npm ci --no-audit --no-fund --loglevel=error; \
		fi; \
	else echo "npm not found: the openai npm client tests will be skipped"; fi

llmd-sim: bin/llm-d-inference-sim ## build llm-d-inference-sim (the inference-pool tests' vLLM simulator) from tools/llmd, once

bin/llm-d-inference-sim: tools/llmd/go.mod tools/llmd/go.sum
	mkdir -p bin
	cd tools/llmd && $(GO) build -o ../../bin/llm-d-inference-sim github.com/llm-d/llm-d-inference-sim/cmd/llm-d-inference-sim

controller-gen: ## build controller-gen (pinned in tools/controller-gen) into bin/, once
	./tools/controller-gen/build.sh

generate: controller-gen ## regenerate the CRDs (k8s/crds) and deep copies from the Go types of k8s/api/v1alpha1
	./tools/controller-gen/generate.sh

test-short: ## run the unit tests only (no end-to-end tests through the binary)
	$(GO) test -short -count=1 $(PKGS)

check: fmt vet staticcheck imports ## gofmt, go vet, staticcheck and the import-layer rules

fmt: ## fail if any file is not gofmt-clean
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet: ## go vet
	$(GO) vet $(PKGS)

staticcheck: ## staticcheck (built from the tools module)
	cd tools && $(GO) build -o ../bin/staticcheck honnef.co/go/tools/cmd/staticcheck
	./bin/staticcheck $(PKGS)

imports: ## check the import rules of DESIGN.md
	$(GO) run ./internal/importcheck

bench: build ## run the load-test comparison (direct, bare proxy, Switchyard) into loadtest/results/
	./loadtest/run.sh

bench-go: ## run the Go micro-benchmarks of the hot path
	$(GO) test -run '^$$' -bench . -benchmem ./router/... ./providers/...

bench-compare: ## benchstat of the hot-path Go benchmarks: BASE (default HEAD~1) against the working tree
	./loadtest/benchcmp.sh $(BASE)

clean: ## remove build outputs
	rm -rf bin
