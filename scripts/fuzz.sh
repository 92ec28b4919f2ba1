#!/bin/sh
# Runs libFuzzer targets one after another (two shared cores: never in parallel), nice'd, each for
# FUZZ_SECONDS. Called by `make fuzz`, which has built them into $FUZZ_BUILD. The working corpus
# (.build-fuzz/corpus/NAME) starts from the committed seeds (Fuzz/corpus/NAME) and keeps what
# libFuzzer finds between runs; `make fuzz-merge` folds the useful part back into Fuzz/corpus.
# Every run is appended to Fuzz/run-log.tsv (UTC start, target, seconds, executions, result), so
# how long each target has run clean is on record. A crash stops the script with its file named.
set -u
: "${FUZZ_SECONDS:=60}" "${FUZZ_BUILD:=.build-fuzz}" "${FUZZ_TARGETS:?}"
bin="$FUZZ_BUILD/debug"
log=Fuzz/run-log.tsv
[ -f "$log" ] || printf 'started_utc\ttarget\tseconds\texecutions\tnew_units\tresult\n' > "$log"
for t in $FUZZ_TARGETS; do
    work="$FUZZ_BUILD/corpus/$t"
    crashes="Fuzz/crashes/$t"
    mkdir -p "$work" "$crashes"
    started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
    t0=$(date +%s)
    out="$FUZZ_BUILD/fuzz-$t.log"
    echo "fuzz-$t: ${FUZZ_SECONDS} s (log $out)"
    # -detect_leaks=0: the Swift runtime's metadata caches live until exit and read as leaks.
    # SWIFT_BACKTRACE=enable=no: Swift's crash backtracer reads memory ASan calls wild, which
    # buries the real failure (the trap's message comes first either way).
    SWIFT_BACKTRACE=enable=no nice -n 19 "$bin/fuzz-$t" -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 -detect_leaks=0 \
        -print_final_stats=1 -artifact_prefix="$crashes/" "$work" "Fuzz/corpus/$t" > "$out" 2>&1
    status=$?
    seconds=$(( $(date +%s) - t0 ))
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out" | tail -1)
    units=$(sed -n 's/^stat::new_units_added: *//p' "$out" | tail -1)
    if [ "$status" -eq 0 ]; then result=clean; else result="FAILED(exit $status)"; fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$started" "$t" "$seconds" "${runs:-?}" "${units:-?}" "$result" >> "$log"
    echo "fuzz-$t: $result after $seconds s, ${runs:-?} inputs"
    if [ "$status" -ne 0 ]; then
        grep -E 'ERROR|Fatal error|fuzz-'"$t"':|Test unit written' "$out" | head -20
        echo "Reproduce with: swift build --product fuzz-$t && .build/debug/fuzz-$t $crashes/crash-*"
        echo "Then fix it and keep the input as a regression test: mv $crashes/crash-* Fuzz/regressions/$t/"
        exit 1
    fi
done
