#!/usr/bin/env bash
# Runs every fuzz target for a bounded time: FUZZTIME each (default 30s),
# one worker each, one target after another (make test runs this beside the
# other suites, so it takes about one core). A failing input is written to
# the package's testdata/fuzz/<Target>/ by go test and fails the run; plain
# `go test` replays it from then on.
#
# FUZZ_KEEP=1 copies the inputs the fuzzer found interesting (its cache)
# into testdata/fuzz/ too, to be committed as the corpus.
set -euo pipefail
cd "$(dirname "$0")/.."

fuzztime="${FUZZTIME:-30s}"
# go test minimises every input that finds new coverage for up to a minute
# by default, and those runs do not count as fuzzing: FuzzClientFrame (a real
# socket per input) spent 20 of its 30 s minimising and fuzzed nothing
# meanwhile. A few seconds each keeps it exploring (4,600 executions in 30 s
# before, about 40,000 after); a failing input is still written in full if
# minimising it runs out of time.
minimizetime="${FUZZMINIMIZETIME:-3s}"
targets=(
	"./hub FuzzClientFrame"
	"./rooms/auction FuzzParseCents"
	"./rooms/schema FuzzParseOp"
	"./rooms/schema FuzzExportQuoting"
)
cache="$(go env GOCACHE)/fuzz"
for t in "${targets[@]}"; do
	read -r pkg target <<<"$t"
	echo "fuzz: $target in $pkg for $fuzztime"
	go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" -fuzzminimizetime "$minimizetime" -parallel 1 "$pkg"
	if [ "${FUZZ_KEEP:-}" = 1 ]; then
		src="$cache/hotrow/${pkg#./}/$target"
		dst="$pkg/testdata/fuzz/$target"
		if [ -d "$src" ]; then
			mkdir -p "$dst"
			cp -n "$src"/* "$dst"/ 2>/dev/null || true
			echo "fuzz: kept $(ls "$dst" | wc -l) inputs in $dst"
		fi
	fi
done
echo "fuzz: every target ran $fuzztime without a failure"
