#!/usr/bin/env bash
# Runs every test — the cmocka unit binaries, then the black-box scripts in
# parallel — and ends with the summary line "N passed, N failed" (", N
# skipped" when a file printed "skip - reason" lines).
#
#   TESTS=unit|bb|all (all)   ONLY=<substring of a test file name>
#   JOBS=<parallel bb files> (3)   O=<object dir>   BINDIR=<programs dir>
set -u
cd "$(dirname "$0")/.."
TOP=$(pwd)
O=${O:-build}
BINDIR=${BINDIR:-bin}
TESTS=${TESTS:-all}
JOBS=${JOBS:-3}
ONLY=${ONLY:-}
export WSD_BINDIR=$(cd "$BINDIR" && pwd)
export WSD_TOP=$TOP
export WSD_OBJDIR=$(cd "$O" && pwd)	# tests/tools programs are in $WSD_OBJDIR/tools
LOGDIR=$(mktemp -d "${TMPDIR:-/tmp}/wsd-testlogs.XXXXXX")
pass=0
fail=0
skip=0
failed_names=()

count_unit() {	# $1 = log, $2 = exit status, $3 = name
	local p f
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$1" | awk '{s+=$1} END {print s+0}')
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$1" | awk '{s+=$1} END {print s+0}')
	if [ "$2" != 0 ] && [ "$f" = 0 ]; then
		f=1	# crashed or aborted before cmocka could count
	fi
	pass=$((pass + p)); fail=$((fail + f))
	[ "$f" = 0 ] || failed_names+=("$3")
}

count_bb() {	# $1 = log, $2 = exit status, $3 = name
	local p f
	p=$(grep -c '^ok ' "$1")
	f=$(grep -c '^not ok ' "$1")
	if [ "$2" != 0 ] && [ "$f" = 0 ]; then
		f=1	# died (or timed out) without reporting a failure
		echo "not ok - $3 exited with status $2" >> "$1"
	fi
	pass=$((pass + p)); fail=$((fail + f))
	# A file that cannot run here (the container tests without a working
	# engine) prints "skip - reason": shown and counted apart, never passed.
	skip=$((skip + $(grep -c '^skip - ' "$1")))
	[ "$f" = 0 ] || failed_names+=("$3")
}

if [ "$TESTS" = all ] || [ "$TESTS" = unit ]; then
	for t in "$O"/tests/test_*; do
		[ -x "$t" ] || continue
		name=$(basename "$t")
		case "$name" in *"$ONLY"*) ;; *) continue ;; esac
		log=$LOGDIR/$name.log
		"$t" > "$log" 2>&1
		st=$?
		count_unit "$log" "$st" "$name"
		if [ "$st" != 0 ]; then cat "$log"; else grep -h '^\[  PASSED' "$log" | sed "s/^/$name: /"; fi
	done
fi

if [ "$TESTS" = all ] || [ "$TESTS" = bb ]; then
	list=()
	for t in tests/bb/test_*.sh tests/bb/test_*.js; do
		[ -f "$t" ] || continue
		case "$(basename "$t")" in *"$ONLY"*) list+=("$t") ;; esac
	done
	# Each file runs on its own ports and temp home; a hung one is ended.
	printf '%s\n' "${list[@]}" | xargs -P "$JOBS" -I{} sh -c '
		t={}; log='"$LOGDIR"'/$(basename "$t").log
		start=$(date +%s)
		case "$t" in
		*.js) timeout -k 10 ${BB_TIMEOUT:-300} node "$t" > "$log" 2>&1 ;;
		*)    timeout -k 10 ${BB_TIMEOUT:-300} bash "$t" > "$log" 2>&1 ;;
		esac
		echo $? > "$log.status"
		echo "  $(basename "$t") ($(( $(date +%s) - start ))s)"
	'
	for t in "${list[@]}"; do
		name=$(basename "$t")
		log=$LOGDIR/$name.log
		st=$(cat "$log.status" 2>/dev/null || echo 1)
		count_bb "$log" "$st" "$name"
		if grep -q '^not ok ' "$log"; then
			echo "---- $name (status $st) ----"
			cat "$log"
		else
			grep -h -e '^ok ' -e '^skip - ' "$log" | sed "s/^/$name: /"
		fi
	done
fi

if [ ${#failed_names[@]} -gt 0 ]; then
	echo "failed: ${failed_names[*]} (logs in $LOGDIR)"
else
	rm -rf "$LOGDIR"
fi
if [ "$skip" -gt 0 ]; then
	echo "$pass passed, $fail failed, $skip skipped"
else
	echo "$pass passed, $fail failed"
fi
[ "$fail" = 0 ] && [ "$pass" -gt 0 ]
