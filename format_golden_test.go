package paxos

import (
	"encoding/hex"
	"flag"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// updateGolden rewrites the golden files. Use it only to add samples: a
// change to an existing sample is a format change, which needs a new
// FormatVersion and a decoder for the old one.
var updateGolden = flag.Bool("update-golden", false, "write testdata/format samples")

// goldenNote stands for a user's own message type (JSON fallback).
type goldenNote struct {
	Name string `json:"name"`
	N    int    `json:"n"`
}

// goldenRecords are the on-disk format v1 samples in testdata/format/v1:
// the stored value of each message.
var goldenRecords = []struct {
	name string
	msg  interface{}
}{
	{"request", &Request{ID: 0x17c96370c0901, Attempt: 1, Slot: 300, Proposer: "10.0.0.1:7000"}},
	{"proposal", &Proposal{ID: 0x17c96370c0902, Value: []byte("value"), Slot: 12, Offset: 1, Chosen: 11}},
	{"proposal-empty-value", &Proposal{ID: 1, Value: []byte{}}},
	{"proposal-commands", &Proposal{ID: 3, Slot: 2, Chosen: 1, Commands: []Command{
		{Session: 0xfeedface, Seq: 1, Floor: 1, Value: []byte("a")},
		{Session: 0xfeedface, Seq: 2, Floor: 1, Value: []byte("bc")},
	}}},
	{"promise", &Promise{ID: 9, Chosen: 7, More: true, Entries: []*Proposal{
		{ID: 8, Slot: 8, Commands: []Command{{Session: 5, Seq: 3, Value: []byte("v8")}}},
		nil,
		{ID: 9, Slot: 9},
	}}},
	{"promise-accepted", &Promise{ID: 2, Accepted: &Proposal{ID: 1, Value: []byte("x")}}},
	{"command", &Command{Session: math.MaxUint64, Seq: 128, Floor: 127, Value: []byte{0, 0xff}}},
	{"bytes", &Bytes{Value: []byte("payload")}},
	{"bytes-nil", &Bytes{}},
	{"json-note", &goldenNote{Name: "user type", N: 42}},
}

// goldenKeys are Badger key samples: the key of id in the view reached by
// the WithPrefix path.
var goldenKeys = []struct {
	name string
	path []string
	id   uint64
}{
	{"key-root-0", nil, 0},
	{"key-root-max", nil, math.MaxUint64},
	{"key-empty-prefix", []string{""}, 1},
	{"key-a-b", []string{"a", "b"}, 0x0102030405060708},
	{"key-ab", []string{"ab"}, 0x0102030405060708},
	{"key-nul-ff", []string{"\x00\xff"}, 256},
}

func goldenPath(name string) string {
	return filepath.Join("testdata", "format", "v1", name+".hex")
}

// checkGolden compares got with the named sample (or writes it).
func checkGolden(t *testing.T, name string, got []byte) []byte {
	t.Helper()
	path := goldenPath(name)
	if *updateGolden {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(hex.EncodeToString(got)+"\n"), 0o644))
	}
	text, err := os.ReadFile(path)
	require.NoError(t, err)
	want, err := hex.DecodeString(strings.TrimSpace(string(text)))
	require.NoError(t, err, path)
	require.Equal(t, hex.EncodeToString(want), hex.EncodeToString(got), "%s: the encoding changed (see docs/FORMAT.md)", path)
	return want
}

func TestFormatGoldenRecords(t *testing.T) {
	for _, g := range goldenRecords {
		t.Run(g.name, func(t *testing.T) {
			got, err := appendRecord(nil, g.msg)
			require.NoError(t, err)
			stored := checkGolden(t, g.name, got)

			// Today's decoder reads the stored sample back to the message.
			into := reflect.New(reflect.TypeOf(g.msg).Elem()).Interface()
			require.NoError(t, decodeRecord(stored, into))
			require.Equal(t, g.msg, into)
		})
	}
}

func TestFormatGoldenKeys(t *testing.T) {
	for _, g := range goldenKeys {
		t.Run(g.name, func(t *testing.T) {
			l := &Badger{}
			var view Log = l
			for _, p := range g.path {
				view = view.WithPrefix(p)
			}
			checkGolden(t, g.name, view.(*Badger).key(g.id))
		})
	}
}
