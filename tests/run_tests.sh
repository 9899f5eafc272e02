#!/bin/sh
# Runs every test program in a folder; prints one line per test and fails if
# any failed.
dir=$1
pass=0; fail=0; failed=""
for t in "$dir"/test_*; do
    [ -x "$t" ] || continue
    name=$(basename "$t")
    start=$(date +%s)
    if "$t" > "$dir/$name.log" 2>&1; then
        pass=$((pass + 1)); status=ok
    else
        fail=$((fail + 1)); status=FAIL; failed="$failed $name"
    fi
    printf '%-32s %-4s %3ss\n' "$name" "$status" "$(( $(date +%s) - start ))"
    [ "$status" = ok ] || tail -n 30 "$dir/$name.log"
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] || { echo "failed:$failed"; exit 1; }
