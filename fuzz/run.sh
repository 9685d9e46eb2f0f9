#!/usr/bin/env bash
# Fuzzes soyuz-remoting's codecs, soyuz-store's crash recovery and soyuz-filter's SQL92
# parser: each cargo-fuzz target
# for N seconds (default 60).
#
#   bash fuzz/run.sh [seconds] [target...]
#
# Seeds (fuzz/seeds/<target>/*.hex) are converted into fuzz/corpus/<target>/ first; the
# corpus and fuzz/artifacts/ (crash inputs) are gitignored. cargo-fuzz needs nightly
# flags (-Zsanitizer), which stable rustc accepts under RUSTC_BOOTSTRAP=1.
set -euo pipefail

seconds="${1:-60}"
shift || true
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
    targets=(frame_decode body_decode json_header recovery sql92_parse)
fi

export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "run.sh: installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked
fi

cd "$root"
for target in "${targets[@]}"; do
    corpus="fuzz/corpus/$target"
    mkdir -p "$corpus"
    python3 - "fuzz/seeds/$target" "$corpus" <<'PY'
import pathlib, sys
seeds, corpus = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
for seed in sorted(seeds.glob("*.hex")):
    data = bytes.fromhex("".join(seed.read_text().split()))
    (corpus / f"seed-{seed.stem}").write_bytes(data)
PY
    echo "run.sh: fuzzing $target for ${seconds}s" >&2
    cargo fuzz run "$target" "$corpus" -- -max_total_time="$seconds"
done
