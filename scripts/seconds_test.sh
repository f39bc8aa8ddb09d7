#!/usr/bin/env bash
# Tests scripts/seconds.sh (make scripts-check runs it).
set -uo pipefail
cd "$(dirname "$0")"
fail=0
check() {
	local got
	got=$(./seconds.sh "$1" 2>/dev/null); local rc=$?
	if [ "$2" = error ]; then
		[ $rc -ne 0 ] || { echo "seconds.sh $1: got $got, want an error"; fail=1; }
	elif [ $rc -ne 0 ] || [ "$got" != "$2" ]; then
		echo "seconds.sh $1: got '$got' (status $rc), want $2"; fail=1
	fi
}
check 60s 60
check 1m 60
check 10m 600
check 1h30m 5400
check 1.5h 5400
check 2m30s 150
check 1500ms 2
check 3s 3
check 60 error
check "" error
check 1x error
check 0s error
check 5d error
check m error
if [ $fail -ne 0 ]; then exit 1; fi
echo "seconds.sh: 14 passed, 0 failed"
