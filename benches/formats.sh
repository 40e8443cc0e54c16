#!/usr/bin/env bash
# Per-format throughput: each real sample under ../shared/realdata (or REALDATA) that why409
# reads, its body lines repeated to SIZE bytes (a `#` header block kept once, on top), timed
# with one thread (best of RUNS), full analysis with JSON output. The lines repeat in cycles
# of a few to a few hundred, so their times jump back at each cycle: the timestamp cache
# helps less than on a real log, where consecutive lines share their minute.
#
#   benches/formats.sh                 # needs target/release/why409 (cargo build --release)
#   SIZE=50000000 RUNS=5 benches/formats.sh
#
# Prints one row per sample: format, lines, MB/s, lines/s, and the file.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/release/why409}
REALDATA=${REALDATA:-../shared/realdata}
SIZE=${SIZE:-20000000}
RUNS=${RUNS:-3}
[ -x "$BIN" ] || { echo "no $BIN: run cargo build --release first" >&2; exit 1; }
[ -d "$REALDATA" ] || { echo "no $REALDATA: set REALDATA to the real samples" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

now() { date +%s.%N; }
printf "%-14s %9s %8s %11s  %s\n" format lines "MB/s" "lines/s" sample
find "$REALDATA" -type f ! -name '*.md' | sort | while read -r f; do
    # The sample's format and how much of it is read; samples with fewer than two
    # readable lines (prose, pretty-printed JSON, wrapped logs of other programs) are left out.
    info=$("$BIN" --output json "$f" 2>/dev/null | python3 -c '
import json, sys
i = json.load(sys.stdin)["inputs"][0]
print(i["format"], i["parsed"])' 2>/dev/null) || continue
    read -r format parsed <<<"$info"
    [ "$parsed" -ge 2 ] || continue
    body="$work/body"
    grep -v '^#' "$f" | grep -v '^[[:space:]]*$' >"$body" || continue
    big="$work/big.log"
    {
        grep '^#' "$f" || true
        # Repeated in one write (a `cat` per copy took most of a run for short samples).
        python3 -c 'import sys; b = open(sys.argv[1], "rb").read(); sys.stdout.buffer.write(b * (int(sys.argv[2]) // len(b) + 1))' "$body" "$SIZE"
    } >"$big"
    best=""
    for _ in $(seq "$RUNS"); do
        start=$(now)
        "$BIN" --threads 1 --format "$format" --output json "$big" >"$work/out.json" 2>/dev/null
        t=$(echo "$(now) - $start" | bc -l)
        if [ -z "$best" ] || [ "$(echo "$t < $best" | bc -l)" = 1 ]; then best=$t; fi
    done
    lines=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["inputs"][0]["parsed"])' "$work/out.json")
    bytes=$(stat -c %s "$big")
    printf "%-14s %9d %8.0f %11.0f  %s\n" "$format" "$lines" \
        "$(echo "$bytes / $best / 1000000" | bc -l)" "$(echo "$lines / $best" | bc -l)" "${f#"$REALDATA"/}"
done
