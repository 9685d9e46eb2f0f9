# `make verify` does exactly what CI does, and changes nothing.
# `make test` runs the whole test suite.

CARGO ?= cargo
HAVE_NEXTEST := $(shell $(CARGO) nextest --version >/dev/null 2>&1 && echo yes)

.PHONY: verify fmt-check clippy test fuzz bench fix

verify: fmt-check clippy test

fmt-check:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

test:
ifeq ($(HAVE_NEXTEST),yes)
	$(CARGO) nextest run --workspace --locked --profile ci
	$(CARGO) test --workspace --locked --doc
else
	$(CARGO) test --workspace --locked
endif

# A 60-second fuzz run per target (needs cargo-fuzz; the script installs it).
fuzz:
	bash fuzz/run.sh 60

# Codec micro-benchmarks.
bench:
	$(CARGO) bench -p soyuz-remoting --bench codec

fix:
	$(CARGO) fmt --all
	$(CARGO) clippy --workspace --all-targets --fix --allow-dirty -- -D warnings
