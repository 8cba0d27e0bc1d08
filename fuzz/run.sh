#!/usr/bin/env bash
# make fuzz / make fuzz-merge: runs each harness in turn and reports.
#
#   run    FUZZ_SECONDS per target; inputs that reach new code go to
#          $FUZZ_WORK/NAME (not the committed corpus); a failure leaves the
#          input libFuzzer saved and a minimized copy, both named below.
#   merge  adds the inputs of $FUZZ_WORK/NAME that reach code (edges; hit
#          counts are left out so the committed corpus stays small) the
#          committed corpus does not to fuzz/corpus/NAME.
#
# FUZZ_FLAGS adds libFuzzer options (e.g. -jobs=2, -max_len=8192).
set -u
cd "$(dirname "$0")/.."
mode=${1:-run}
BIN=${FUZZ_BIN:?}
WORK=${FUZZ_WORK:?}
SECONDS_EACH=${FUZZ_SECONDS:-60}
TARGETS=${FUZZ_TARGETS:-}
FLAGS=${FUZZ_FLAGS:-}
mkdir -p "$WORK"
failed=()
summary=()

# The line libFuzzer prints last, e.g. "#123456 DONE cov: 812 ft: 3012 …".
stats() {	# $1 = log
	local done execs
	done=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$1" | tail -1)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$1" | tail -1)
	echo "execs ${execs:-?} $(echo "$done" | grep -oE 'cov: [0-9]+ ft: [0-9]+')"
}

for name in $TARGETS; do
	fuzzer=$BIN/fuzz_$name
	corpus=fuzz/corpus/$name
	new=$WORK/$name
	log=$WORK/$name.log
	[ "$mode" = merge ] && log=$WORK/$name-merge.log
	dict=()
	[ -f "fuzz/$name.dict" ] && dict=(-dict="fuzz/$name.dict")
	if [ ! -x "$fuzzer" ]; then
		echo "fuzz: no harness $fuzzer (targets: $(ls fuzz/fuzz_*.c | sed 's|fuzz/fuzz_||; s|\.c$||' | tr '\n' ' '))"
		failed+=("$name")
		continue
	fi
	mkdir -p "$new" "$corpus"
	if [ "$mode" = merge ]; then
		before=$(ls "$corpus" | wc -l)
		# shellcheck disable=SC2086
		"$fuzzer" -merge=1 -use_counters=0 "${dict[@]}" $FLAGS "$corpus" "$new" > "$log" 2>&1 ||
		    { echo "fuzz-merge: $name failed, see $log"; failed+=("$name"); continue; }
		echo "fuzz-merge: $name: $before -> $(ls "$corpus" | wc -l) inputs in $corpus"
		continue
	fi
	echo "fuzz: $name for ${SECONDS_EACH}s (log $log)"
	start=$(date +%s)
	# shellcheck disable=SC2086
	"$fuzzer" -max_total_time="$SECONDS_EACH" -timeout=10 -print_final_stats=1 \
	    -artifact_prefix="$WORK/$name-" "${dict[@]}" $FLAGS "$new" "$corpus" \
	    > "$log" 2>&1
	st=$?
	took=$(( $(date +%s) - start ))
	if [ "$st" = 0 ]; then
		summary+=("$name: clean, ${took}s, $(stats "$log")")
		continue
	fi
	failed+=("$name")
	artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
	echo "---- fuzz: $name FAILED after ${took}s (status $st) ----"
	grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error)' "$log" | head -5
	if [ -n "$artifact" ] && [ -f "$artifact" ]; then
		min=$artifact.min
		"$fuzzer" -minimize_crash=1 -max_total_time=60 \
		    -exact_artifact_path="$min" "$artifact" > "$log.min" 2>&1
		[ -f "$min" ] || min=$artifact
		echo "reproducer: $artifact"
		echo "minimized:  $min ($(wc -c < "$min") bytes)"
		echo "replay:     $fuzzer $min"
		echo "keep it:    cp $min $corpus/  (make test replays it)"
	fi
	summary+=("$name: FAILED, ${took}s, see $log")
done

for line in "${summary[@]}"; do echo "fuzz: $line"; done
if [ ${#failed[@]} -gt 0 ]; then
	echo "fuzz: failed: ${failed[*]}"
	exit 1
fi
