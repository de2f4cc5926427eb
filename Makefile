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

demo: build
	@scripts/demo.sh

fuzz: bootstrap
	@scripts/fuzz.sh build

bench: build
	@scripts/bench.sh

clean:
	rm -rf build build-asan build-fuzz
