#!/bin/sh
# cli_code_check.sh VIGIL — `vigil code check`: the exact strings, flags and
# exit codes of the contract (issue 3), and that no digits of a code leak.
set -u
V="$1"
fail=0
expect() {  # expect RC WANT_OUTPUT -- ARGS...   (stdin from $STDIN if set)
    want_rc="$1"; want_out="$2"; shift 3
    if [ -n "${STDIN:-}" ]; then
        out=$(printf '%b' "$STDIN" | "$V" "$@" 2>/tmp/vigil-code-err.$$); rc=$?
    else
        out=$("$V" "$@" 2>/tmp/vigil-code-err.$$ </dev/null); rc=$?
    fi
    if [ "$rc" != "$want_rc" ] || [ "$out" != "$want_out" ]; then
        echo "FAIL: vigil $*"; echo "  want rc=$want_rc out=[$want_out]"; echo "  got  rc=$rc out=[$out]"
        fail=1
    fi
    # never a code's digits in stderr
    for c in "$@"; do
        case "$c" in [0-9][0-9][0-9]*) if grep -q "${c%%:*}" /tmp/vigil-code-err.$$; then
            echo "FAIL: stderr shows a code: vigil $*"; fail=1; fi;; esac
    done
    rm -f /tmp/vigil-code-err.$$
}
expect 1 "refused R2 one-edit: collides with slot 1
refused R4 numeric: collides with slot 1" -- code check --code 1235 --duress --existing 1234
expect 1 '{"accepted":false,"hits":[{"rule":"R2","slot":1},{"rule":"R4","slot":1}],"warnings":[]}' -- code check --json --code 1235 --duress --existing 1234
expect 0 "accepted" -- code check --code 5790 --duress --existing 1234 8642
expect 1 "refused R6 same-digits: collides with slot 2" -- code check --code 2468 --existing 1357 8642:duress
expect 0 "accepted" -- code check --code 2468 --existing 1357 8642
expect 1 "refused R7 same-keys: collides with slot 1" -- code check --code 2468 --duress --existing 1357 --layout 12,34,56,78,90
expect 1 '{"accepted":false,"hits":[{"rule":"R8"}],"warnings":[]}' -- code check --json --code 2580 --duress --existing 7351
expect 0 '{"accepted":true,"hits":[],"warnings":[{"rule":"R8"}]}' -- code check --json --code 2580 --existing 7351
expect 0 "warning R8 weak: a common or patterned code
accepted" -- code check --code 2580 --existing 7351
expect 1 "refused R2 one-edit: collides with slot 3
refused R3 prefix-suffix: collides with slot 3" -- code check --code 91234 --duress --existing 5555 6666 1234 --existing 7777
expect 1 '{"accepted":false,"hits":[{"rule":"R5","slot":2}],"warnings":[]}' -- code check --json --code 1133 --existing 9999 1122:duress
STDIN='7351\n\n1234:duress\n' expect 1 "refused R2 one-edit: collides with slot 2
refused R4 numeric: collides with slot 2" -- code check --code 1236 --codes-from -
expect 2 "" -- code check --code 123 --existing 1234
expect 2 "" -- code check --code 123456789 --existing 1234
expect 2 "" -- code check --code 12a4 --existing 1234
expect 2 "" -- code check --code 5790 --existing 12
expect 2 "" -- code check --code 5790 --existing 1234:boss
expect 2 "" -- code check --code 5790 --frobnicate
expect 2 "" -- code check --existing 1234
expect 2 "" -- code check --code 5790 --codes-from /etc/passwd
exit $fail
