# custody: every toolchain is installed here, pinned, into the project folder.
#   make demo   make test   make build   make bench   make valgrind   make fuzz
# Needs only node/npm and python3/pip on the machine.

ZIG_VERSION := 0.17.0
# A zig on PATH is used only if it is exactly the pinned version.
SYSTEM_ZIG := $(shell command -v zig 2>/dev/null)
ifneq ($(SYSTEM_ZIG),)
  ifeq ($(shell $(SYSTEM_ZIG) version 2>/dev/null),$(ZIG_VERSION))
    ZIG := $(SYSTEM_ZIG)
  endif
endif
LOCAL_ZIG := $(CURDIR)/.tools/zig/ziglang/zig
ZIG ?= $(LOCAL_ZIG)

BIN := $(CURDIR)/node_modules/.bin
DENO := $(BIN)/deno
BUN := $(BIN)/bun
TSC := $(BIN)/tsc
DENO_RUN := $(DENO) run --allow-ffi --allow-read --allow-env
LIB := zig/zig-out/lib/libcustody.so
TIME ?= 60
RUNTIME ?= both
RUNS ?= 0
SEED ?=
WORKERS ?= 1
OUT ?= .fuzz
FUZZ_ARGS = --time=$(TIME) --runs=$(RUNS) --workers=$(WORKERS) --out=$(OUT) $(if $(SEED),--seed=$(SEED))
SQLITE_FUZZ_ARGS = --time=$(TIME) --runs=$(RUNS) --out=$(OUT)-sqlite $(if $(SEED),--seed=$(SEED))

.PHONY: all install build test demo bench valgrind fuzz fuzz-native clean sqlite-demo mutants

all: build

install: node_modules/.installed $(ZIG) .tools/deno.d.ts

node_modules/.installed: package.json package-lock.json
	npm install --no-audit --no-fund
	@touch $@

$(LOCAL_ZIG):
	python3 -m pip install --quiet --disable-pip-version-check --target .tools/zig ziglang==$(ZIG_VERSION)
	@test -x $@

# Deno's own API types, for the TypeScript type check.
.tools/deno.d.ts: node_modules/.installed
	$(DENO) types > $@

build: install
	cd zig && $(ZIG) build
	scripts/sqlite-lib.sh "$(ZIG)"

test: build
	scripts/test.sh "$(ZIG)" "$(DENO)" "$(BUN)" "$(TSC)"

demo: build
	@echo "== Deno: the tracked allocator and the registry"
	$(DENO_RUN) examples/demo.ts
	@echo
	@echo "== Deno: ownership through declarative bindings"
	$(DENO_RUN) examples/ownership_demo.ts
	@echo
	@echo "== Bun: the tracked allocator and the registry"
	$(BUN) run examples/demo.ts
	@echo
	@echo "== Bun: ownership through declarative bindings"
	$(BUN) run examples/ownership_demo.ts

# SQLite through custody (examples/sqlite/), in Deno and then in Bun.
sqlite-demo: build
	@echo "== Deno: SQLite under custody"
	$(DENO_RUN) examples/sqlite/main.ts
	@echo
	@echo "== Bun: SQLite under custody"
	$(BUN) run examples/sqlite/main.ts

bench: build
	scripts/bench.sh "$(DENO)" "$(BUN)"

# The Zig unit tests under valgrind memcheck, built for a baseline CPU valgrind can decode.
valgrind: install
	cd zig && $(ZIG) build test-binary -Dcpu=baseline
	valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite zig/zig-out/bin/custody-tests

# The fuzz campaigns, per runtime: model-based runs over the widgets library (fuzz/campaign.ts),
# then over SQLite (fuzz/sqlite/campaign.ts, one process, writing to OUT-sqlite).
#   make fuzz RUNTIME=deno|bun|both TIME=seconds RUNS=n SEED=n WORKERS=n OUT=folder
fuzz: build
	@status=0; \
	if [ "$(RUNTIME)" != bun ]; then $(DENO) run --allow-all --v8-flags=--expose-gc fuzz/campaign.ts $(FUZZ_ARGS) || status=1; fi; \
	if [ "$(RUNTIME)" != deno ]; then $(BUN) fuzz/campaign.ts $(FUZZ_ARGS) || status=1; fi; \
	if [ "$(RUNTIME)" != bun ]; then $(DENO) run --allow-all --v8-flags=--expose-gc fuzz/sqlite/campaign.ts $(SQLITE_FUZZ_ARGS) || status=1; fi; \
	if [ "$(RUNTIME)" != deno ]; then $(BUN) fuzz/sqlite/campaign.ts $(SQLITE_FUZZ_ARGS) || status=1; fi; \
	exit $$status

# The proof of the campaign's power (fuzz/mutants.ts): each named ownership bug of fuzz/mutations.ts
# planted in a temporary copy, the campaign run against it per runtime until its first failure.
#   make mutants MUTANT_TIME=seconds RUNTIME=deno|bun|both MUTANTS=name,name OUT=folder
MUTANT_TIME ?= 60
mutants: build
	$(DENO) run --allow-all fuzz/mutants.ts --deno=$(DENO) --bun=$(BUN) --zig=$(ZIG) --time=$(MUTANT_TIME) --runtime=$(RUNTIME) --out=$(if $(filter .fuzz,$(OUT)),.mutants,$(OUT)) $(if $(MUTANTS),--only=$(MUTANTS))

# The randomized model tests of the native core, over and over with new seeds, for TIME seconds.
fuzz-native: install
	cd zig && $(ZIG) build test-binary
	scripts/fuzz-native.sh zig/zig-out/bin/custody-tests $(TIME)

clean:
	rm -rf zig/zig-out zig/.zig-cache .tools/test-logs
