//go:build unix

package robustness

import (
	"encoding/binary"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/stretchr/testify/require"
)

// These tests check the checkers on made-up histories: a checker that
// cannot fail proves nothing.

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

func put(call, ret int, key, value string, out outcome, pos uint64) operation {
	return operation{Kind: opPut, Key: key, Value: value, Call: ms(call), Return: ms(ret), Outcome: out, Position: pos}
}

func del(call, ret int, key string, out outcome, pos uint64) operation {
	return operation{Kind: opDelete, Key: key, Call: ms(call), Return: ms(ret), Outcome: out, Position: pos}
}

func get(call, ret int, key, value string) operation {
	return operation{Kind: opGet, Key: key, Value: value, Found: value != "", Call: ms(call), Return: ms(ret), Outcome: ok}
}

func check(h history) porcupine.CheckResult {
	ops, _ := porcupineHistory(h)
	return porcupine.CheckOperationsTimeout(kvModel, ops, time.Minute)
}

func TestModelLinearizable(t *testing.T) {
	for _, tc := range []struct {
		name string
		h    history
		want porcupine.CheckResult
	}{
		{"read your write", history{put(0, 10, "a", "1", ok, 1), get(20, 30, "a", "1")}, porcupine.Ok},
		{"stale read", history{put(0, 10, "a", "1", ok, 1), put(20, 30, "a", "2", ok, 2), get(40, 50, "a", "1")}, porcupine.Illegal},
		{"read of nothing after a write", history{put(0, 10, "a", "1", ok, 1), get(20, 30, "a", "")}, porcupine.Illegal},
		{"read of a value never written", history{get(0, 10, "a", "x")}, porcupine.Illegal},
		{"concurrent read may see either", history{put(0, 100, "a", "1", ok, 1), get(10, 20, "a", ""), get(30, 40, "a", "1")}, porcupine.Ok},
		{"read goes back in time", history{put(0, 100, "a", "1", ok, 1), get(10, 20, "a", "1"), get(30, 40, "a", "")}, porcupine.Illegal},
		{"delete then read", history{put(0, 10, "a", "1", ok, 1), del(20, 30, "a", ok, 2), get(40, 50, "a", "")}, porcupine.Ok},
		{"read after a delete sees the old value", history{put(0, 10, "a", "1", ok, 1), del(20, 30, "a", ok, 2), get(40, 50, "a", "1")}, porcupine.Illegal},
		{"unknown write seen later", history{put(0, 10, "a", "1", unknown, 0), get(1000, 1010, "a", "1")}, porcupine.Ok},
		{"unknown write never seen", history{put(0, 10, "a", "1", unknown, 0), get(1000, 1010, "a", "")}, porcupine.Ok},
		{"unknown write seen, then gone", history{put(0, 10, "a", "1", unknown, 0), get(20, 30, "a", "1"), get(40, 50, "a", "")}, porcupine.Illegal},
		{"failed write seen", history{put(0, 10, "a", "1", failed, 0), get(20, 30, "a", "1")}, porcupine.Illegal},
		{"unknown delete may land late", history{put(0, 10, "a", "1", ok, 1), del(20, 30, "a", unknown, 0), get(40, 50, "a", "1"), get(60, 70, "a", "")}, porcupine.Ok},
		{"keys are independent", history{put(0, 10, "a", "1", ok, 1), put(0, 10, "b", "2", ok, 2), get(20, 30, "b", "2"), get(20, 30, "a", "1")}, porcupine.Ok},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, check(tc.h))
		})
	}
}

func TestPorcupineHistoryPrunesUnseenUnknownPuts(t *testing.T) {
	ops, pruned := porcupineHistory(history{
		put(0, 10, "a", "seen", unknown, 0), put(0, 10, "a", "unseen", unknown, 0), del(0, 10, "a", unknown, 0),
		put(0, 10, "a", "refused", failed, 0), get(20, 30, "a", "seen"),
		{Kind: opGet, Key: "a", Outcome: unknown},
	})
	require.Equal(t, 1, pruned)
	require.Len(t, ops, 3, "the seen put, the delete and the read")
	require.Equal(t, int64(1<<63-1), ops[0].Return, "an unknown write stays open")
}

// logOf encodes ops as a recorded log, positions from 1.
func logOf(t *testing.T, ops ...logOp) []recorded {
	t.Helper()
	var out []recorded
	for i, o := range ops {
		kind := byte(1)
		if o.Op == "delete" {
			kind = 2
		}
		b := binary.AppendUvarint([]byte{kind}, uint64(len(o.Key)))
		b = append(append(b, o.Key...), o.Value...)
		out = append(out, recorded{pos: uint64(i) + 1, value: b})
	}
	return out
}

func TestDecodeLogOp(t *testing.T) {
	for _, o := range []logOp{{Op: "put", Key: "k", Value: "v"}, {Op: "put", Key: "k"}, {Op: "delete", Key: "gone"}} {
		got, err := decodeLogOp(logOf(t, o)[0].value)
		require.NoError(t, err)
		require.Equal(t, o, got)
	}
	legacy, err := json.Marshal(logOp{Op: "put", Key: "old", Value: "json"})
	require.NoError(t, err)
	got, err := decodeLogOp(legacy)
	require.NoError(t, err)
	require.Equal(t, logOp{Op: "put", Key: "old", Value: "json"}, got)
	for _, b := range [][]byte{nil, {3, 1, 'k'}, {1}, {1, 5, 'k'}, []byte(`{"op":`)} {
		_, err := decodeLogOp(b)
		require.Error(t, err, "%q", b)
	}
}

func TestCheckLogs(t *testing.T) {
	p1 := logOp{Op: "put", Key: "a", Value: "1"}
	p2 := logOp{Op: "put", Key: "a", Value: "2"}
	d := logOp{Op: "delete", Key: "a"}
	good := history{put(0, 10, "a", "1", ok, 1), put(20, 30, "a", "2", unknown, 0), del(40, 50, "a", ok, 3), get(60, 70, "a", "")}
	same := func() [][]recorded {
		return [][]recorded{logOf(t, p1, p2, d), logOf(t, p1, p2, d), logOf(t, p1, p2, d)}
	}
	require.Empty(t, checkLogs(same(), good))

	for _, tc := range []struct {
		name string
		logs [][]recorded
		h    history
		want string
	}{
		{"members disagree", [][]recorded{logOf(t, p1, p2, d), logOf(t, p1, d, d), logOf(t, p1, p2, d)}, good, "agreement: position 2"},
		{"a member lags", [][]recorded{logOf(t, p1, p2, d), logOf(t, p1, p2), logOf(t, p1, p2, d)}, good, "convergence: member 2 recorded 2"},
		{"a gap", [][]recorded{{{pos: 1, value: logOf(t, p1)[0].value}, {pos: 3, value: logOf(t, d)[0].value}}}, nil, "order: member 1 holds position 3"},
		{"acknowledged write lost", [][]recorded{logOf(t, p2, d)}, history{put(0, 10, "a", "1", ok, 1)}, "durability"},
		{"acknowledged at another position", [][]recorded{logOf(t, p2, p1)}, history{put(0, 10, "a", "1", ok, 1), put(0, 10, "a", "2", ok, 1)}, "position 1 holds"},
		{"recorded twice", [][]recorded{logOf(t, p1, p1)}, history{put(0, 10, "a", "1", ok, 1)}, "exactly once"},
		{"failed but recorded", [][]recorded{logOf(t, p1)}, history{put(0, 10, "a", "1", failed, 0)}, "failed definitely"},
		{"never written", [][]recorded{logOf(t, p1)}, nil, "which no client wrote"},
		{"dirty read", [][]recorded{logOf(t, p1)}, history{put(0, 10, "a", "1", ok, 1), get(0, 10, "a", "9")}, "dirty read"},
		{"not an op", [][]recorded{{{pos: 1, value: []byte("junk")}}}, nil, "validity: position 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := checkLogs(tc.logs, tc.h)
			require.NotEmpty(t, got)
			require.Contains(t, strings.Join(got, "\n"), tc.want)
		})
	}
}

func TestCheckMajorityWindows(t *testing.T) {
	f := fault{Kind: faultPause, Members: []int{0, 1, 2}, Majority: true, Start: ms(100), End: ms(200)}
	h := history{
		put(50, 150, "a", "before", ok, 1), // invoked before: may be chosen before the window
		put(150, 250, "a", "after", ok, 2), // returned after the heal
		put(120, 180, "a", "inside", unknown, 0),
		get(110, 190, "a", "before"),       // a read completed inside
		put(130, 170, "a", "acked", ok, 3), // a write completed inside
	}
	got := checkMajorityWindows(h, []fault{f})
	require.Len(t, got, 2)
	require.Contains(t, got[0], "get a")
	require.Contains(t, got[1], `"acked"`)
	f.Majority = false
	require.Empty(t, checkMajorityWindows(h, []fault{f}))
}

func TestRecoveries(t *testing.T) {
	h := history{
		put(0, 10, "a", "1", ok, 1),
		put(90, 300, "a", "2", ok, 2), // invoked before the reference: not counted
		put(120, 400, "a", "3", unknown, 0),
		put(150, 180, "a", "4", failed, 0),
		del(160, 250, "a", ok, 3),
		get(170, 175, "a", ""),
	}
	leaderKill := fault{Kind: faultKill, Leader: true, Start: ms(100), End: ms(140)}
	partition := fault{Kind: faultCut, Leader: true, Start: ms(100), End: ms(140)}
	late := fault{Kind: faultPause, Start: ms(500), End: ms(600)}
	rs := recoveries(h, []fault{leaderKill, partition, late}, ms(1000))
	require.Equal(t, ms(150), rs[0].after, "from the kill to the delete's acknowledgement")
	require.Equal(t, ms(110), rs[1].after, "from the heal")
	require.Equal(t, ms(150), rs[0].gap, "nothing acknowledged from 100 ms to 250 ms")
	require.False(t, rs[2].found)
	require.Equal(t, ms(400), rs[2].after, "to the end of the run")
}

func TestLongestWriteGap(t *testing.T) {
	h := history{put(0, 10, "a", "1", ok, 1), put(0, 50, "a", "2", ok, 2), put(0, 300, "a", "3", unknown, 0), get(0, 200, "a", "2")}
	gap, at := h.longestWriteGap(0, ms(100))
	require.Equal(t, ms(50), gap)
	require.Equal(t, ms(50), at)
}
