# `make verify` does exactly what CI does, and changes nothing.
# `make test` runs the whole test suite: the workspace's tests, then `make interop` (the
# stock Rust client) and `make interop-python` (the stock C++ client via Python).

CARGO ?= cargo
HAVE_NEXTEST := $(shell $(CARGO) nextest --version >/dev/null 2>&1 && echo yes)

.PHONY: verify fmt-check clippy test test-workspace interop interop-python fuzz bench fix

verify: fmt-check clippy test

fmt-check:
	$(CARGO) fmt --all -- --check
	$(CARGO) fmt --manifest-path interop/Cargo.toml -- --check

clippy:
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

test: test-workspace interop interop-python

test-workspace:
ifeq ($(HAVE_NEXTEST),yes)
	$(CARGO) nextest run --workspace --locked --profile ci
	$(CARGO) test --workspace --locked --doc
else
	$(CARGO) test --workspace --locked
endif

# Stock RocketMQ clients from crates.io against the real `soyuz` binary. A separate
# cargo workspace (interop/, own target dir): its ~280-crate dependency tree never slows
# the main workspace's build or clippy.
interop:
	$(CARGO) build -p soyuz --locked
	$(CARGO) test --manifest-path interop/Cargo.toml --locked

# The PyPI `rocketmq` 0.4.4 client (Python over the Apache RocketMQ C++ client) against
# the real binary. run.sh makes its own venv under interop/python/.venv on first use.
interop-python:
	$(CARGO) build -p soyuz --locked
	bash interop/python/run.sh

# A 60-second fuzz run per target (needs cargo-fuzz; the script installs it).
fuzz:
	bash fuzz/run.sh 60

# Codec micro-benchmarks.
bench:
	$(CARGO) bench -p soyuz-remoting --bench codec

fix:
	$(CARGO) fmt --all
	$(CARGO) fmt --manifest-path interop/Cargo.toml
	$(CARGO) clippy --workspace --all-targets --fix --allow-dirty -- -D warnings
