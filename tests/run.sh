#!/bin/sh
# run.sh: runs each test binary given, then prints the total "N passed, N failed, N skipped".
# HL_TEST_WRAPPER (e.g. a valgrind command line) is put in front of each binary when set.
passed=0 failed=0 skipped=0 status=0
for t in "$@"; do
    echo "== $t"
    out=$(${HL_TEST_WRAPPER:-} "$t" 2>&1); rc=$?
    printf '%s\n' "$out"
    line=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' | tail -n 1)
    if [ -z "$line" ]; then
        echo "   $t ended without a summary line (exit $rc): counted as 1 failure"
        failed=$((failed + 1)); status=1; continue
    fi
    set -- $line "$@"
    passed=$((passed + $1)); failed=$((failed + $3)); skipped=$((skipped + $5))
    shift 6
    [ "$rc" -eq 0 ] || status=1
done
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] || status=1
exit $status
