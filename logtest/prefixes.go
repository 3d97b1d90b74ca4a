package logtest

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mjpitz/myago/paxos"
)

// view is a nested WithPrefix path.
type view []string

func (v view) open(l paxos.Log) paxos.Log {
	for _, p := range v {
		l = l.WithPrefix(p)
	}
	return l
}

func (v view) tag() string {
	return "view" + strings.Join(append([]string{""}, v...), "/")
}

// trickyViews are paths whose naive concatenation would collide: every one
// must be isolated from every other.
var trickyViews = []view{
	{},
	{""},
	{"", ""},
	{"\x00"},
	{"\x00\x00"},
	{"\x00", "\x00"},
	{"\x00", ""},
	{"", "\x00"},
	{"\xff"},
	{"\xff\xff"},
	{"\xff", "\xff"},
	{"\x01"},
	{"\x01\x00"},
	{"a"},
	{"ab"},
	{"a", "b"},
	{"a", "", "b"},
	{"a", "b", ""},
	{"a\x00b"},
	{"a\x00", "b"},
	{"a\x01b"},
	{"a/b"},
	{"b"},
	{"a", "a"},
	{"aa"},
	{strings.Repeat("long", 100)},
	{strings.Repeat("long", 100), "x"},
}

func testPrefixes(t *testing.T, l paxos.Log) {
	ids := []uint64{0, 1, 256, maxID}
	for _, v := range trickyViews {
		record(t, v.open(l), v.tag(), ids...)
	}
	for _, v := range trickyViews {
		requireContents(t, v.open(l), v.tag(), ids...)
	}
}

// testPrefixesShareStorage checks that views are views: opening the same
// path again, from the same parent or through another chain of calls, sees
// the same records.
func testPrefixesShareStorage(t *testing.T, l paxos.Log) {
	a := l.WithPrefix("a")
	record(t, a, "shared", 1)
	requireContents(t, l.WithPrefix("a"), "shared", 1)

	ab := a.WithPrefix("b")
	record(t, ab, "nested", 2)
	requireContents(t, l.WithPrefix("a").WithPrefix("b"), "nested", 2)

	// The parent sees neither child's records, and writes to it are not
	// seen by the children.
	require.Empty(t, rangeProposals(t, l, 0, maxID))
	record(t, l, "parent", 1, 2)
	requireContents(t, a, "shared", 1)
	requireContents(t, ab, "nested", 2)
}
