//go:build unix

package robustness

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// logOp is a kvstore write as its recorded log holds it.
type logOp struct {
	Op    string `json:"op"` // "put" or "delete"
	Key   string `json:"key"`
	Value string `json:"value,omitempty"`
}

// decodeLogOp reads a kvstore op as its log holds it: a kind byte (1 put,
// 2 delete), the key's length (uvarint), the key, the value; or JSON, as
// earlier versions of the kvstore wrote it. The checker keeps its own
// decoder: it reads the logs as an outsider would.
func decodeLogOp(b []byte) (logOp, error) {
	var o logOp
	if len(b) > 0 && b[0] == '{' {
		err := json.Unmarshal(b, &o)
		return o, err
	}
	if len(b) == 0 || (b[0] != 1 && b[0] != 2) {
		return o, errors.New("no op kind")
	}
	n, k := binary.Uvarint(b[1:])
	if k <= 0 || n > uint64(len(b)-1-k) {
		return o, errors.New("truncated op")
	}
	o.Op = "put"
	if b[0] == 2 {
		o.Op = "delete"
	}
	rest := b[1+k:]
	o.Key, o.Value = string(rest[:n]), string(rest[n:])
	return o, nil
}

// checkLogs checks the members' recorded logs after the cluster healed and
// converged, against each other and against the history:
//
//   - every log holds positions 1..n with no gaps (order);
//   - every member holds the same value at every position, and the same
//     positions (agreement, convergence);
//   - no put value is recorded twice (exactly once);
//   - every acknowledged write is recorded at the position it was
//     acknowledged at (durability, exactly once);
//   - every recorded put was invoked and not definitely failed (validity);
//   - every value a read returned is recorded (no dirty reads).
//
// It returns one line per anomaly.
func checkLogs(logs [][]recorded, h history) []string {
	var anomalies []string
	bad := func(format string, args ...interface{}) { anomalies = append(anomalies, fmt.Sprintf(format, args...)) }
	longest := 0
	for i, l := range logs {
		for k, r := range l {
			if r.pos != uint64(k)+1 {
				bad("order: member %d holds position %d where %d belongs (a gap)", i+1, r.pos, k+1)
				break
			}
		}
		if len(l) > len(logs[longest]) {
			longest = i
		}
	}
	ref := logs[longest]
	for i, l := range logs {
		if len(l) != len(ref) {
			bad("convergence: member %d recorded %d positions, member %d %d", i+1, len(l), longest+1, len(ref))
		}
		for k := 0; k < len(l) && k < len(ref); k++ {
			if !bytes.Equal(l[k].value, ref[k].value) {
				bad("agreement: position %d is %s on member %d but %s on member %d", k+1, l[k].value, i+1, ref[k].value, longest+1)
			}
		}
	}

	ops := make([]logOp, len(ref))
	putAt := map[string]uint64{} // put value -> position
	for k, r := range ref {
		var err error
		if ops[k], err = decodeLogOp(r.value); err != nil {
			bad("validity: position %d holds %q, not a kvstore op: %v", k+1, r.value, err)
			continue
		}
		if ops[k].Op != "put" {
			continue
		}
		if prev, dup := putAt[ops[k].Value]; dup {
			bad("exactly once: value %q recorded at positions %d and %d", ops[k].Value, prev, k+1)
			continue
		}
		putAt[ops[k].Value] = uint64(k) + 1
	}

	invoked := map[string]operation{}
	for _, o := range h {
		switch {
		case o.Kind == opPut:
			invoked[o.Value] = o
		case o.Kind == opGet && o.Outcome == ok && o.Found:
			if _, in := putAt[o.Value]; !in {
				bad("dirty read: %v returned a value no log holds", o)
			}
		}
		if !o.isWrite() || o.Outcome != ok {
			continue
		}
		if o.Position == 0 || o.Position > uint64(len(ops)) {
			bad("durability: %v acknowledged, but the logs end at %d", o, len(ops))
			continue
		}
		got := ops[o.Position-1]
		want := logOp{Op: "put", Key: o.Key, Value: o.Value}
		if o.Kind == opDelete {
			want = logOp{Op: "delete", Key: o.Key}
		}
		if got != want {
			bad("durability: %v acknowledged, but position %d holds %+v", o, o.Position, got)
		}
	}
	for v, pos := range putAt {
		o, in := invoked[v]
		switch {
		case !in:
			bad("validity: position %d holds value %q, which no client wrote", pos, v)
		case o.Outcome == failed:
			bad("validity: position %d holds %v, which failed definitely", pos, o)
		}
	}
	return anomalies
}

// checkMajorityWindows returns an anomaly for every operation acknowledged
// entirely inside a window where no majority was up and connected: nothing
// can be chosen then, and reads, which go through the log, cannot complete
// either.
func checkMajorityWindows(h history, faults []fault) []string {
	var anomalies []string
	for _, f := range faults {
		if !f.Majority {
			continue
		}
		for _, o := range h {
			if o.Outcome == ok && o.Call >= f.Start && o.Return <= f.End {
				anomalies = append(anomalies, fmt.Sprintf("no majority: %v acknowledged during %v", o, f))
			}
		}
	}
	return anomalies
}

// recovery is how a fault affected writes.
type recovery struct {
	fault fault
	// after is from fault.ref() to the first acknowledgement of a write
	// invoked since (found is false if there was none).
	after time.Duration
	found bool
	// gap is the longest time without an acknowledged write from the
	// fault's start until that acknowledgement.
	gap time.Duration
}

func recoveries(h history, faults []fault, runEnd time.Duration) []recovery {
	var out []recovery
	for _, f := range faults {
		t, found := h.firstAckedWriteAfter(f.ref())
		if !found {
			t = runEnd
		}
		gap, _ := h.longestWriteGap(f.Start, t)
		out = append(out, recovery{fault: f, after: t - f.ref(), found: found, gap: gap})
	}
	return out
}
