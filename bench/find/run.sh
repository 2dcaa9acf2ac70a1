#!/usr/bin/env bash
# Benchmark `leakhound find` against memlab on three snapshots of one leaking process, at
# ~350 MB (medium, scale 2.5: ~313/349/384 MB) and ~950 MB (large, scale 6.73:
# ~853/950/1048 MB) per snapshot, then compare what each tool reports on the corpus.
# MEDIUM_SCALE / LARGE_SCALE change the scales of sets not generated yet.
#
#   bench/find/run.sh [medium|large|corpus ...]     (default: medium large corpus)
#
# Prints wall time, peak RSS and ratios (memlab / leakhound) per command, and a markdown
# table of the top finding per corpus scenario. Snapshots are cached in bench/out/find/.
# (memlab prints its results on stderr.)
# Needs: node 20, /usr/bin/time, npm (memlab 2.0.5 is installed into bench/find/node_modules
# with PUPPETEER_SKIP_DOWNLOAD=1 from package-lock.json).
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
OUT="$ROOT/bench/out/find"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
# LEAKHOUND=/path/to/leakhound skips the release build and uses that binary.
LH="${LEAKHOUND:-$TARGET/release/leakhound}"
MEMLAB="$HERE/node_modules/memlab/bin/memlab"
MEMLAB_HEAP_MB="${MEMLAB_HEAP_MB:-16384}"
SETS=("$@")
[ ${#SETS[@]} -eq 0 ] && SETS=(medium large corpus)
mkdir -p "$OUT"

if [ -z "${LEAKHOUND:-}" ]; then
  echo "== building leakhound (release)" >&2
  (cd "$ROOT" && cargo build --release -q -p leakhound)
fi

if [ ! -x "$MEMLAB" ]; then
  echo "== installing memlab into bench/find/node_modules" >&2
  (cd "$HERE" && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund >/dev/null)
fi

# measure NAME CMD...: runs CMD under /usr/bin/time, records "wall_s peak_kb" in $OUT/NAME.time
measure() {
  local name="$1"; shift
  /usr/bin/time -f "%e %M" -o "$OUT/$name.time" "$@" >"$OUT/$name.out" 2>"$OUT/$name.err" || {
    echo "   $name failed (exit $?), see $OUT/$name.err" >&2
  }
  cat "$OUT/$name.time" | tail -1
}

memlab() {
  node --expose-gc --max-old-space-size="$MEMLAB_HEAP_MB" "$MEMLAB" "$@"
}
# The same command as an argv, for /usr/bin/time (which cannot run a shell function).
MEMLAB_CMD=(node --expose-gc --max-old-space-size="$MEMLAB_HEAP_MB" "$MEMLAB")

gen_set() {
  local set="$1" scale="$2" dir="$OUT/$1"
  if [ ! -f "$dir/s3.heapsnapshot" ]; then
    echo "== generating the $set set (scale $scale) into $dir" >&2
    rm -rf "$dir" && mkdir -p "$dir"
    node --expose-gc --max-old-space-size=30000 "$HERE/gen-leak.js" "$dir" "$scale" >&2
  fi
}

bench_set() {
  local set="$1" dir="$OUT/$1"
  local sizes
  sizes=$(for s in 1 2 3; do du -m "$dir/s$s.heapsnapshot" | cut -f1; done | paste -sd/ -)
  echo
  echo "### $set set: s1/s2/s3 = $sizes MB"
  rm -rf "$OUT/work-$set" && mkdir -p "$OUT/work-$set"
  # Warm the page cache so every tool reads from memory.
  cat "$dir"/s*.heapsnapshot >/dev/null
  # This machine's speed drifts by 10-20% within minutes, so leakhound runs before, between
  # and after memlab's two commands and the table shows its median run.
  local lh ml_f ml_u lh_runs=()
  lh_runs+=("$(measure "$set-leakhound" "$LH" find "$dir" --json)")
  ml_f=$(measure "$set-memlab-find-leaks" "${MEMLAB_CMD[@]}" find-leaks --baseline "$dir/s1.heapsnapshot" \
    --target "$dir/s2.heapsnapshot" --final "$dir/s3.heapsnapshot" --trace-all-objects \
    --work-dir "$OUT/work-$set")
  lh_runs+=("$(measure "$set-leakhound" "$LH" find "$dir" --json)")
  ml_u=$(measure "$set-memlab-unbound-object" "${MEMLAB_CMD[@]}" analyze unbound-object \
    --snapshot-dir "$dir" --work-dir "$OUT/work-$set")
  lh_runs+=("$(measure "$set-leakhound" "$LH" find "$dir" --json)")
  echo "leakhound runs (wall s, peak KB): ${lh_runs[*]}"
  # Median wall time, highest peak memory.
  lh="$(printf '%s\n' "${lh_runs[@]}" | sort -n | sed -n 2p | cut -d' ' -f1) \
$(printf '%s\n' "${lh_runs[@]}" | cut -d' ' -f2 | sort -n | tail -1)"
  read -r lw lm <<<"$lh"
  printf '| %-44s | %9s | %10s | %13s | %14s |\n' "command" "wall" "peak RSS" "wall vs lh" "RSS vs lh"
  printf '|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..46})" "-----------" "------------" "---------------" "----------------"
  row() {
    local label="$1" w="$2" m="$3"
    printf '| %-44s | %8.1fs | %7.0f MB | %12.1fx | %13.1fx |\n' "$label" "$w" "$(echo "$m/1024" | bc -l)" \
      "$(echo "$w/$lw" | bc -l)" "$(echo "$m/$lm" | bc -l)"
  }
  row "leakhound find (3 snapshots)" $lh
  row "memlab find-leaks --trace-all-objects" $ml_f
  row "memlab analyze unbound-object" $ml_u
  echo
  echo "leakhound top findings ($set):"
  node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    for (const f of r.findings.slice(0, 5))
      console.log(`  ${(f.confidence*100).toFixed(0)}% ${f.title} @ ${f.location ? f.location.script + ":" + f.location.line : "?"}`);
  ' "$OUT/$set-leakhound.out" || true
}

corpus() {
  local tmp="$OUT/corpus"
  rm -rf "$tmp" && mkdir -p "$tmp"
  echo
  echo "### Top finding per corpus scenario (tests/leaks)"
  echo
  echo "| scenario | leakhound find | memlab find-leaks --trace-all-objects (top cluster) | memlab analyze unbound-object (top row) |"
  echo "|---|---|---|---|"
  for prog in "$ROOT"/tests/leaks/leak-*.js "$ROOT"/tests/leaks/ok-*.js; do
    local name dir
    name="$(basename "$prog" .js)"
    dir="$tmp/$name"
    node --expose-gc "$prog" "$dir" >/dev/null
    local lh ml mu
    lh=$("$LH" find "$dir" --json | node -e '
      const r = JSON.parse(require("fs").readFileSync(0, "utf8"));
      const f = r.findings[0];
      if (!f) { console.log("nothing"); process.exit(0); }
      const loc = f.location ? `${require("path").basename(f.location.script)}:${f.location.line}` : "?";
      console.log(`${(f.confidence*100).toFixed(0)}% ${f.pattern}: \`${f.retainer_path_text}\` at ${loc}`);
    ')
    mkdir -p "$tmp/work-$name"
    ml=$(memlab find-leaks --baseline "$dir/s1.heapsnapshot" --target "$dir/s2.heapsnapshot" \
      --final "$dir/s3.heapsnapshot" --trace-all-objects --work-dir "$tmp/work-$name" 2>&1 \
      | sed 's/\x1b\[[0-9;]*[A-Za-z]//g' | node -e '
        const lines = require("fs").readFileSync(0, "utf8").split("\n");
        const i = lines.findIndex(l => l.startsWith("--Similar leaks"));
        if (i < 0) { const z = lines.find(l => /found 0 leak/i.test(l)); console.log(z ? "0 leaks" : "no cluster"); process.exit(0); }
        const n = lines[i].match(/\d+/)[0];
        const size = (lines[i+1].match(/: (.*)--/) || [])[1] || "?";
        const edges = [];
        for (let k = i + 3; k < lines.length && lines[k].trim().startsWith("--"); k++) {
          const m = lines[k].match(/--(.*?) \(/); if (m) edges.push(m[1]);
        }
        console.log(`${n} objects, ${size}: ${edges.slice(-4).join(" → ")}`);
      ')
    mu=$(memlab analyze unbound-object --snapshot-dir "$dir" --work-dir "$tmp/work-$name" 2>&1 \
      | sed 's/\x1b\[[0-9;]*[A-Za-z]//g' | grep -m1 '^·' | sed 's/^· //; s/|/\\|/g' || true)
    echo "| $name | $lh | $ml | ${mu:-nothing} |"
  done
}

for set in "${SETS[@]}"; do
  case "$set" in
    medium) gen_set medium "${MEDIUM_SCALE:-2.5}"; bench_set medium ;;
    large) gen_set large "${LARGE_SCALE:-6.73}"; bench_set large ;;
    corpus) corpus ;;
    *) echo "unknown set: $set" >&2; exit 2 ;;
  esac
done
