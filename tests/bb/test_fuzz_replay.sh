#!/usr/bin/env bash
# Every committed fuzz corpus (fuzz/corpus/NAME) replayed once through its
# harness, so an input that once crashed, leaked or broke a property stays
# fixed.  make test runs the harnesses of the ASan tree (WSD_FUZZ_REPLAY);
# otherwise those of the tree under test.
. "$(dirname "$0")/lib.sh"

dir=${WSD_FUZZ_REPLAY:-$WSD_OBJDIR/fuzz-replay}
case "$dir" in /*) ;; *) dir=$TOP/$dir ;; esac
for src in "$TOP"/fuzz/fuzz_*.c; do
	name=$(basename "$src" .c)
	name=${name#fuzz_}
	bin=$dir/fuzz_$name
	corpus=$TOP/fuzz/corpus/$name
	n=$(find "$corpus" -maxdepth 1 -type f ! -name '.*' 2>/dev/null | wc -l)
	if [ ! -x "$bin" ]; then
		not_ok "fuzz replay $name" "no harness $bin (make unit)"
	elif [ "$n" = 0 ]; then
		not_ok "fuzz replay $name" "empty corpus $corpus"
	else
		out=$("$bin" "$corpus" 2> "$T/$name.err")
		st=$?
		if [ "$st" = 0 ] && [ "$out" = "$n inputs" ]; then
			ok "fuzz replay $name ($n inputs)"
		else
			not_ok "fuzz replay $name" \
			    "exit status $st, replayed: ${out:-no summary}" \
			    "failing input: $(sed -n 's/^replay: //p' "$T/$name.err" | tail -1)" \
			    "$(grep -v '^replay: ' "$T/$name.err" | head -20)"
		fi
	fi
done
finish
