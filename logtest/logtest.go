// Package logtest is a conformance suite for implementations of paxos.Log.
//
// A user who plugs their own Log into the library runs it from a test:
//
//	func TestMyLog(t *testing.T) {
//		logtest.Run(t, func(t *testing.T) paxos.Log { return newMyLog(t) })
//	}
//
// and, for a durable Log, RunDurable with a hook that reopens the storage.
// The suite checks the rules documented on paxos.Log (contract §3):
// ordering, every Range edge case, Last, replace semantics, proto given as T
// or *T, prefix isolation and nesting, encoding and decoding errors that name
// the id, fn errors, concurrent use (run it with -race), the optional
// paxos.BatchLog, and for RunDurable that everything survives a reopen.
package logtest

import (
	"testing"

	"github.com/mjpitz/myago/paxos"
)

// Run runs the suite. open is called once per subtest and must return a new,
// empty Log; it may register cleanups with t.Cleanup.
func Run(t *testing.T, open func(t *testing.T) paxos.Log) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.run(t, open(t)) })
	}
}

// RunDurable runs Run and then checks that what was written survives a
// reopen. reopen is given a Log returned by open (or by an earlier reopen):
// it must release that Log's storage (e.g. close the database) and return a
// new root Log over the same storage.
func RunDurable(t *testing.T, open func(t *testing.T) paxos.Log, reopen func(t *testing.T, l paxos.Log) paxos.Log) {
	t.Helper()
	Run(t, open)
	t.Run("Reopen", func(t *testing.T) { testReopen(t, open(t), reopen) })
}

type testCase struct {
	name string
	run  func(t *testing.T, l paxos.Log)
}

var cases = []testCase{
	{"Empty", testEmpty},
	{"Order", testOrder},
	{"RangeBounds", testRangeBounds},
	{"Last", testLast},
	{"Replace", testReplace},
	{"RoundTrip", testRoundTrip},
	{"ProtoForms", testProtoForms},
	{"BadProto", testBadProto},
	{"FreshCopies", testFreshCopies},
	{"FnError", testFnError},
	{"FnCallsBack", testFnCallsBack},
	{"Prefixes", testPrefixes},
	{"PrefixesShareStorage", testPrefixesShareStorage},
	{"EncodeErrors", testEncodeErrors},
	{"DecodeErrors", testDecodeErrors},
	{"Batch", testBatch},
	{"Concurrent", testConcurrent},
}
