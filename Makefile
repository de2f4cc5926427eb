# The front doors. Every target installs what it needs first.
.PHONY: all build check demo fuzz bench bootstrap clean

all: build

bootstrap:
	@scripts/bootstrap.sh

build: bootstrap
	@[ -d build ] || meson setup build >/dev/null
	@ninja -C build
	@scripts/api.sh render   # build/api/*.html, the pages /docs serves

check: bootstrap
	@scripts/check.sh

# The demo's mailboxes serve the built webmail: rebuilt when a source of
# it is newer than web/dist (npm ci by bootstrap first).
WEB_SOURCES := $(shell find web/src web/public web/tools -type f 2>/dev/null) \
	$(wildcard web/index.html web/package.json web/package-lock.json \
		web/vite.config.ts web/tsconfig.json web/tsconfig.node.json)

web/dist/index.html: $(WEB_SOURCES) | bootstrap
	@cd web && npm run build

demo: build web/dist/index.html
	@scripts/demo.sh

fuzz: bootstrap
	@scripts/fuzz.sh build

# scripts/bench.sh makes its own release build (build-bench).
bench: bootstrap
	@scripts/bench.sh

clean:
	rm -rf build build-asan build-fuzz build-valgrind build-bench

# The system tests with every `federizer` under valgrind memcheck: no
# error, no definitely lost block (slow; FZ_TESTS=tests/system/x.test.mjs
# runs some files only). Then 10 minutes of mixed load on two domains:
# RSS and file descriptors of every server flat after the warm-up
# (FZ_SOAK_SECONDS sets the length).
.PHONY: check-valgrind soak
check-valgrind: bootstrap
	@scripts/check-sanitized.sh --valgrind $(FZ_TESTS)

soak: build
	@scripts/soak.sh
