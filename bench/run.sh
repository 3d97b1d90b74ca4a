#!/usr/bin/env bash
# Runs the consensus comparison matrix and writes JSON lines plus a Markdown
# report with plots. Every knob is an environment variable; for a quick look:
#
#   MEMBERS=3 CLIENTS="1 64" VALUES=128 REPS=1 WARMUP=1s DURATION=5s ./run.sh
#
# Within each repetition every point runs each system back to back, in an
# order rotated per point and repetition, so drift (thermal, page cache,
# neighbours) hits the systems alike; the report pairs results by repetition.
set -euo pipefail

cd "$(dirname "$0")"

SYSTEMS=${SYSTEMS:-"paxos etcd-raft hashicorp-raft"}
MEMBERS=${MEMBERS:-"3 5"}
CLIENTS=${CLIENTS:-"1 16 64 256"}
VALUES=${VALUES:-"128 4096"}
DURABLE=${DURABLE:-"true false"}
REPS=${REPS:-3}
WARMUP=${WARMUP:-2s}
DURATION=${DURATION:-10s}
FLOORS=${FLOORS-"floor-fsync floor-direct floor-rtt"}   # once per repetition and value size; empty: none
FLOOR_CLIENTS=${FLOOR_CLIENTS:-1}
RUN=${RUN:-$(date -u +%Y%m%dT%H%M%SZ)}
RESULTS_DIR=${RESULTS_DIR:-results}
OUT=${OUT:-"$RESULTS_DIR/run-$RUN.jsonl"}
DATA_DIR=${DATA_DIR:-}                     # parent of the data directories; empty: the system temp dir
REPORT=${REPORT:-1}                        # 0: skip the Markdown report and plots
STRICT=${STRICT:-0}                        # 1: a failing system fails the run (for CI smoke runs)

mkdir -p "$RESULTS_DIR" "$(dirname "$OUT")"
BIN=$(mktemp -d)
trap 'rm -rf "$BIN"' EXIT
go build -o "$BIN/consensusbench" ./cmd/consensusbench
go build -o "$BIN/report" ./cmd/report

read -r -a systems <<<"$SYSTEMS"
dirflag=()
if [[ -n $DATA_DIR ]]; then dirflag=(-dir "$DATA_DIR"); fi

# bench SYSTEM MEMBERS CLIENTS VALUE DURABLE REP: one measurement appended to
# $OUT; a failing system is reported and skipped.
bench() {
	local line
	if line=$("$BIN/consensusbench" -system="$1" -members="$2" -clients="$3" -value="$4" -durable="$5" \
		-warmup="$WARMUP" -duration="$DURATION" -run="$RUN" -rep="$6" "${dirflag[@]}"); then
		echo "$line" >>"$OUT"
		echo "$line" >&2
	else
		echo "run.sh: skipped $1 members=$2 clients=$3 value=$4 durable=$5 rep=$6" >&2
		if [[ $STRICT == 1 ]]; then exit 1; fi
	fi
}

# The machine, for the README: cores, CPU model, kernel, Go, the disk under
# the data directory and how busy the machine was when the run started.
{
	echo "run: $RUN"
	echo "cores: $(nproc)"
	echo "cpu: $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ //')"
	echo "kernel: $(uname -srm)"
	echo "go: $(go env GOVERSION)"
	echo "data disk: $(df -hT "${DATA_DIR:-${TMPDIR:-/tmp}}" | tail -1)"
	echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
	if [[ -r /proc/pressure/cpu ]]; then echo "cpu pressure at start: $(head -1 /proc/pressure/cpu)"; fi
} >"${OUT%.jsonl}.machine.txt"

echo "run.sh: writing $OUT" >&2
for ((rep = 1; rep <= REPS; rep++)); do
	for value in $VALUES; do
		for floor in $FLOORS; do
			for clients in $FLOOR_CLIENTS; do
				bench "$floor" 1 "$clients" "$value" true "$rep"
			done
		done
	done
	i=0
	for durable in $DURABLE; do
		for members in $MEMBERS; do
			for value in $VALUES; do
				for clients in $CLIENTS; do
					n=${#systems[@]}
					for ((k = 0; k < n; k++)); do
						bench "${systems[(i + rep + k) % n]}" "$members" "$clients" "$value" "$durable" "$rep"
					done
					i=$((i + 1))
				done
			done
		done
	done
done

if [[ $REPORT != 0 ]]; then
	echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)" >>"${OUT%.jsonl}.machine.txt"
	"$BIN/report" -out "$RESULTS_DIR" "$OUT"
	echo "run.sh: report in $RESULTS_DIR/report.md" >&2
fi
