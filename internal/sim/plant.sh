#!/usr/bin/env bash
# plant.sh plants known protocol bugs, one at a time, and checks that the
# tests catch each: it applies a patch from testdata/plant, runs the core's
# unit tests and the simulation, expects a failure, reverts the patch, and
# prints a table of what caught what.
#
#   internal/sim/plant.sh                     # every patch, 2000 seeds
#   SEEDS=200 internal/sim/plant.sh 04*.patch # some patches, fewer seeds
#
# It is run by hand (it takes minutes), never by `go test ./...`. It needs a
# clean internal/core and internal/sim, and leaves them as it found them.
# Exit status: 0 when every planted bug was caught.
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"
seeds=${SEEDS:-2000}

if ! git diff --quiet -- internal/core internal/sim; then
	echo "plant.sh: internal/core or internal/sim has uncommitted changes; commit or stash them first" >&2
	exit 2
fi

patches=()
if [ $# -eq 0 ]; then
	for p in "$here"/testdata/plant/*.patch; do patches+=("$p"); done
else
	for p in "$@"; do
		case "$p" in
		/*) patches+=("$p") ;;
		*/*) patches+=("$root/$p") ;;
		*) patches+=("$here/testdata/plant/$p") ;;
		esac
	done
fi

applied=""
revert() {
	if [ -n "$applied" ]; then
		git apply -R "$applied" || echo "plant.sh: could not revert $applied; run: git checkout -- internal/core internal/sim" >&2
		applied=""
	fi
}
trap 'revert; exit 130' INT TERM
trap revert EXIT

log=$(mktemp -d)
rows=()
missed=0
for p in "${patches[@]}"; do
	name=$(basename "$p" .patch)
	if ! git apply --check "$p" 2>"$log/$name.apply"; then
		rows+=("$name|does not apply (see $log/$name.apply)|-|-")
		missed=$((missed + 1))
		continue
	fi
	git apply "$p"
	applied=$p
	echo "== $name" >&2
	go test ./internal/core -count=1 >"$log/$name.core" 2>&1
	core_rc=$?
	go test ./internal/sim -run 'TestSimulation$' -seeds="$seeds" -count=1 >"$log/$name.sim" 2>&1
	sim_rc=$?
	revert

	if grep -q -e '\[build failed\]' -e '^# ' "$log/$name.core" "$log/$name.sim"; then
		rows+=("$name|does not compile (see $log/$name.core)|-|-")
		missed=$((missed + 1))
		continue
	fi
	core="-"
	if [ $core_rc -ne 0 ]; then
		core=$(grep -oE '^--- FAIL: [A-Za-z0-9_]+' "$log/$name.core" | awk '{print $3}' | sort -u | head -4 | paste -sd, -)
		n=$(grep -oE '^--- FAIL: [A-Za-z0-9_]+' "$log/$name.core" | sort -u | wc -l)
		[ "$n" -gt 4 ] && core="$core (+$((n - 4)) more)"
	fi
	sim="-"
	first="-"
	if [ $sim_rc -ne 0 ]; then
		sum=$(grep -oE '[0-9]+ of [0-9]+ seeds failed; the first is [0-9]+' "$log/$name.sim" | head -1)
		first=$(echo "$sum" | grep -oE '[0-9]+$')
		# the invariant: the word before the first colon after "t=...s: "
		inv=$(grep -E "seed $first \(" "$log/$name.sim" | head -1 | sed -E 's/.*t=[0-9.]+s: ([^:]+):.*/\1/')
		sim="TestSimulation: $inv (${sum%%;*})"
		[ -z "$sum" ] && sim="TestSimulation failed (see $log/$name.sim)"
	fi
	if [ $core_rc -eq 0 ] && [ $sim_rc -eq 0 ]; then
		missed=$((missed + 1))
		core="NOT CAUGHT"
	fi
	rows+=("$name|$core|$sim|$first")
done

printf '\n%-40s | %-60s | %-55s | %s\n' "planted bug" "core unit tests that failed" "simulation ($seeds seeds)" "first seed"
printf '%s\n' "$(printf '%.0s-' {1..175})"
for r in "${rows[@]}"; do
	IFS='|' read -r a b c d <<<"$r"
	printf '%-40s | %-60s | %-55s | %s\n' "$a" "$b" "$c" "$d"
done
echo
echo "logs: $log"
if [ $missed -gt 0 ]; then
	echo "plant.sh: $missed planted bug(s) not caught" >&2
	exit 1
fi
