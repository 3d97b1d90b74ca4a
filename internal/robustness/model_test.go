//go:build unix

package robustness

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/anishathalye/porcupine"
)

// kvInput and kvOutput are an operation as porcupine sees it.
type kvInput struct {
	kind       opKind
	key, value string
}

type kvOutput struct {
	value string
	found bool
}

// kvModel is a register per key: the state of a partition is the key's
// value, "" when absent (the workload never writes "").
var kvModel = porcupine.Model{
	Partition: func(h []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[string][]porcupine.Operation{}
		for _, o := range h {
			k := o.Input.(kvInput).key
			byKey[k] = append(byKey[k], o)
		}
		keys := make([]string, 0, len(byKey))
		for k := range byKey {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		out := make([][]porcupine.Operation, 0, len(keys))
		for _, k := range keys {
			out = append(out, byKey[k])
		}
		return out
	},
	Init: func() interface{} { return "" },
	Step: func(state, input, output interface{}) (bool, interface{}) {
		in, st := input.(kvInput), state.(string)
		switch in.kind {
		case opPut:
			return true, in.value
		case opDelete:
			return true, ""
		}
		out := output.(kvOutput)
		if out.found {
			return st == out.value, st
		}
		return st == "", st
	},
	DescribeOperation: func(input, output interface{}) string {
		in := input.(kvInput)
		switch in.kind {
		case opPut:
			return fmt.Sprintf("put(%s, %s)", in.key, in.value)
		case opDelete:
			return fmt.Sprintf("delete(%s)", in.key)
		}
		out := output.(kvOutput)
		if !out.found {
			return fmt.Sprintf("get(%s) -> not found", in.key)
		}
		return fmt.Sprintf("get(%s) -> %s", in.key, out.value)
	},
	DescribeState: func(state interface{}) string {
		if state.(string) == "" {
			return "<absent>"
		}
		return state.(string)
	},
}

// porcupineHistory turns the history into porcupine operations:
//
//   - reads count only when acknowledged (a read that failed has no effect);
//   - definitely failed writes are left out (they did not happen);
//   - writes of unknown outcome stay open: their return is +infinity, so
//     the checker may place them anywhere after their call, or nowhere;
//   - an unknown put whose value no read returned is left out: with unique
//     values, a history is linearizable with it iff it is without it (place
//     it last, or drop it where it was overwritten unseen), and open
//     operations are what makes the search expensive.
//
// It returns the operations and how many unknown puts were left out.
func porcupineHistory(h history) ([]porcupine.Operation, int) {
	observed := map[string]bool{}
	for _, o := range h {
		if o.Kind == opGet && o.Outcome == ok && o.Found {
			observed[o.Value] = true
		}
	}
	var ops []porcupine.Operation
	pruned := 0
	for _, o := range h {
		ret := int64(o.Return)
		switch {
		case o.Outcome == failed, o.Kind == opGet && o.Outcome != ok:
			continue
		case o.Outcome == unknown && o.Kind == opPut && !observed[o.Value]:
			pruned++
			continue
		case o.Outcome == unknown:
			ret = math.MaxInt64
		}
		ops = append(ops, porcupine.Operation{
			ClientId: o.Client,
			Input:    kvInput{kind: o.Kind, key: o.Key, value: o.Value},
			Output:   kvOutput{value: o.Value, found: o.Found},
			Call:     int64(o.Call),
			Return:   ret,
		})
	}
	return ops, pruned
}

// faultAnnotations show the nemesis's faults in the visualization.
func faultAnnotations(faults []fault) []porcupine.Annotation {
	var out []porcupine.Annotation
	for _, f := range faults {
		out = append(out, porcupine.Annotation{
			Tag:             "nemesis",
			Start:           int64(f.Start),
			End:             int64(f.End),
			Description:     f.Kind,
			Details:         f.String(),
			BackgroundColor: "#ffd6d6",
		})
	}
	return out
}

// visualize writes porcupine's picture of ops, with the faults, to path.
func visualize(ops []porcupine.Operation, faults []fault, timeout time.Duration, path string) error {
	_, info := porcupine.CheckOperationsVerbose(kvModel, ops, timeout)
	info.AddAnnotations(faultAnnotations(faults))
	return porcupine.VisualizePath(kvModel, info, path)
}
