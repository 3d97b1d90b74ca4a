//go:build unix

package robustness

import (
	"fmt"
	"sort"
	"time"
)

// opKind is a client operation.
type opKind uint8

const (
	opGet opKind = iota
	opPut
	opDelete
)

func (k opKind) String() string {
	switch k {
	case opGet:
		return "get"
	case opPut:
		return "put"
	case opDelete:
		return "delete"
	}
	return "unknown"
}

// outcome is what a client knows of an operation once it returned.
type outcome uint8

const (
	// ok: the member acknowledged it (a GET's 404 included).
	ok outcome = iota
	// failed: it certainly did not happen (the connection was refused
	// before anything was sent, or the request was rejected as invalid).
	failed
	// unknown: it may or may not have happened (a timeout, 503/504, a
	// connection reset after sending).
	unknown
)

func (o outcome) String() string {
	switch o {
	case ok:
		return "ok"
	case failed:
		return "failed"
	case unknown:
		return "unknown"
	}
	return "?"
}

// operation is one client operation as the history records it. Times are
// since the start of the run.
type operation struct {
	Client   int           `json:"client"`
	Member   int           `json:"member"` // 0-based
	Kind     opKind        `json:"kind"`
	Key      string        `json:"key"`
	Value    string        `json:"value,omitempty"` // put: the value written, unique; get: the value read
	Found    bool          `json:"found,omitempty"` // get: 200 (true) or 404
	Call     time.Duration `json:"call"`
	Return   time.Duration `json:"return"` // when the client stopped waiting, whatever the outcome
	Outcome  outcome       `json:"outcome"`
	Position uint64        `json:"position,omitempty"` // put, delete: the acknowledged position
	Err      string        `json:"err,omitempty"`
}

func (o operation) isWrite() bool { return o.Kind == opPut || o.Kind == opDelete }

func (o operation) String() string {
	s := fmt.Sprintf("client %d member %d [%v, %v] %v %s", o.Client, o.Member+1, o.Call, o.Return, o.Kind, o.Key)
	switch {
	case o.Kind == opPut:
		s += fmt.Sprintf(" = %q", o.Value)
	case o.Kind == opGet && o.Outcome == ok && o.Found:
		s += fmt.Sprintf(" -> %q", o.Value)
	case o.Kind == opGet && o.Outcome == ok:
		s += " -> not found"
	}
	s += " " + o.Outcome.String()
	if o.Position != 0 {
		s += fmt.Sprintf(" at %d", o.Position)
	}
	if o.Err != "" {
		s += ": " + o.Err
	}
	return s
}

// history is every operation of a run, in call order.
type history []operation

func mergeHistories(hs ...[]operation) history {
	var all history
	for _, h := range hs {
		all = append(all, h...)
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].Call < all[j].Call })
	return all
}

// counts tallies the operations by kind and outcome.
func (h history) counts() map[opKind]map[outcome]int {
	c := map[opKind]map[outcome]int{}
	for _, o := range h {
		if c[o.Kind] == nil {
			c[o.Kind] = map[outcome]int{}
		}
		c[o.Kind][o.Outcome]++
	}
	return c
}

// firstAckedWriteAfter returns the return time of the first acknowledged
// write invoked at or after t, and false if there is none.
func (h history) firstAckedWriteAfter(t time.Duration) (time.Duration, bool) {
	best, found := time.Duration(0), false
	for _, o := range h {
		if o.isWrite() && o.Outcome == ok && o.Call >= t && (!found || o.Return < best) {
			best, found = o.Return, true
		}
	}
	return best, found
}

// longestWriteGap returns the longest interval in [from, to] during which
// no write was acknowledged, and where it started.
func (h history) longestWriteGap(from, to time.Duration) (gap, at time.Duration) {
	var acks []time.Duration
	for _, o := range h {
		if o.isWrite() && o.Outcome == ok && o.Return >= from && o.Return <= to {
			acks = append(acks, o.Return)
		}
	}
	sort.Slice(acks, func(i, j int) bool { return acks[i] < acks[j] })
	prev := from
	for _, a := range append(acks, to) {
		if a-prev > gap {
			gap, at = a-prev, prev
		}
		prev = a
	}
	return gap, at
}
