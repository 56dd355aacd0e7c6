#!/bin/sh
# Runs the test suites of one build flavour (BUILD) and ends with one summary
# line. Exit status 0 only if every suite ran and passed.
set -u
BUILD=${BUILD:-build/default}
PYTHON=${PYTHON:-/usr/bin/python3}
SUITES=${SUITES:-"layers unit fuzz integration"}
failed=""
summary=""

# Dependencies point one way (DESIGN.md): certstore/ uses only OpenSSL; proxy/
# and ctl/ use certstore/certstore.h, never its internals, and each other only
# through ctl/ctlproto.h and ctl/ctlstore.h (the store verbs' executor, in
# both binaries), which themselves include nothing else of ours.
run_layers() {
	bad=$(grep -nE '#include "(proxy|ctl)/' certstore/*.c certstore/*.h 2>/dev/null
	      grep -nE '#include "certstore/internal\.h"' proxy/* ctl/* 2>/dev/null
	      grep -nE '#include "ctl/' proxy/*.c proxy/*.h 2>/dev/null |
	          grep -vE 'ctl/(ctlproto|ctlstore)\.h'
	      grep -nE '#include "(ctl|proxy|certstore)/' ctl/ctlproto.[ch] ctl/ctlstore.[ch] \
	          2>/dev/null | grep -vE '"(ctl/ctlproto|ctl/ctlstore|certstore/certstore)\.h"'
	      grep -nE '#include "proxy/' ctl/*.c ctl/*.h 2>/dev/null)
	if [ -n "$bad" ]; then
		printf '%s\n' "$bad"
		echo "layers: FAILED: an include crosses a boundary (see DESIGN.md, Layout)"
		failed="$failed layers"
		summary="$summary layers=FAILED;"
	else
		summary="$summary layers=ok;"
	fi
}

run_unit() {
	n=0 bad=0 cases=0
	for t in "$BUILD"/tests/unit/test_*; do
		[ -x "$t" ] || continue
		n=$((n + 1))
		out=$("$t" 2>&1); rc=$?
		printf '%s\n' "$out" | grep -E '^\[  (PASSED|FAILED|  ERROR) \]|^\[  FAILED  \] ' || true
		c=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -n 1)
		cases=$((cases + ${c:-0}))
		if [ $rc -ne 0 ]; then
			bad=$((bad + 1))
			printf '%s\n' "$out" | tail -n 30
			echo "unit: FAILED: $t"
		fi
	done
	summary="$summary unit=$((n - bad))/$n programs,$cases cases;"
	[ $bad -eq 0 ] && [ $n -gt 0 ] || failed="$failed unit"
}

run_fuzz_replay() {
	n=0 bad=0
	for r in "$BUILD"/tests/fuzz/fuzz_*-replay; do
		[ -x "$r" ] || continue
		n=$((n + 1))
		name=$(basename "$r" -replay); name=${name#fuzz_}
		if ! "$r" "tests/fuzz/corpus/$name"; then
			bad=$((bad + 1)); echo "fuzz: FAILED: $r on tests/fuzz/corpus/$name"
		fi
	done
	summary="$summary fuzz-replay=$((n - bad))/$n;"
	[ $bad -eq 0 ] || failed="$failed fuzz"
}

run_integration() {
	log="$BUILD/tests/integration.log"
	mkdir -p "$BUILD/tests"
	rm -f "$log.rc"
	{ CERTWRAP_BUILD="$BUILD" "$PYTHON" -m pytest -q -p no:cacheprovider \
		tests/integration 2>&1; echo $? > "$log.rc"; } | tee "$log"
	# pytest's own status, not tee's: none when it was killed
	rc=$(cat "$log.rc" 2>/dev/null || echo 1)
	tail -n 1 "$log" | grep -Eq '[0-9]+ passed' &&
	    ! tail -n 1 "$log" | grep -Eq 'failed|error|interrupted' || rc=1
	res=$(tail -n 1 "$log" | sed 's/=//g; s/^ *//; s/ *$//')
	summary="$summary integration: $res;"
	[ $rc -eq 0 ] || failed="$failed integration"
}

for s in $SUITES; do
	case $s in
	layers) run_layers ;;
	unit) run_unit ;;
	fuzz) run_fuzz_replay ;;
	integration) run_integration ;;
	esac
done

if [ -n "$failed" ]; then
	echo "check ($BUILD): FAILED:$failed --$summary"
	exit 1
fi
echo "check ($BUILD): all passed --$summary"
