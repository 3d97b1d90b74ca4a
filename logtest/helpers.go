package logtest

import (
	"fmt"
	"math"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mjpitz/myago/paxos"
)

const maxID = uint64(math.MaxUint64)

// note is a message type of the user's own, stored through a Log's fallback
// encoding.
type note struct {
	Name string
	N    int
	Data []byte
}

// otherNote cannot decode a note: Name has another type.
type otherNote struct {
	Name int
}

// proposal returns a distinctive Proposal for id with the given tag.
func proposal(id uint64, tag string) *paxos.Proposal {
	return &paxos.Proposal{ID: id, Value: []byte(tag + "@" + strconv.FormatUint(id, 10))}
}

// record stores proposal(id, tag) at id.
func record(t *testing.T, l paxos.Log, tag string, ids ...uint64) {
	t.Helper()
	for _, id := range ids {
		require.NoError(t, l.Record(id, proposal(id, tag)), "Record(%d)", id)
	}
}

// rangeProposals returns the Proposals Range(start, stop) visits.
func rangeProposals(t *testing.T, l paxos.Log, start, stop uint64) []*paxos.Proposal {
	t.Helper()
	var got []*paxos.Proposal
	err := l.Range(start, stop, &paxos.Proposal{}, func(msg interface{}) error {
		p, ok := msg.(*paxos.Proposal)
		if !ok {
			return fmt.Errorf("range passed a %T, want *paxos.Proposal", msg)
		}
		got = append(got, p)
		return nil
	})
	require.NoError(t, err, "Range(%d, %d)", start, stop)
	return got
}

// ids returns the IDs of ps.
func ids(ps []*paxos.Proposal) []uint64 {
	out := make([]uint64, 0, len(ps))
	for _, p := range ps {
		out = append(out, p.ID)
	}
	return out
}

// requireContents checks that l holds exactly proposal(id, tag) for ids.
func requireContents(t *testing.T, l paxos.Log, tag string, want ...uint64) {
	t.Helper()
	got := rangeProposals(t, l, 0, maxID)
	require.Equal(t, want, ids(got), "ids in the log")
	for _, p := range got {
		require.Equal(t, proposal(p.ID, tag), p)
	}
	if len(want) > 0 {
		var last paxos.Proposal
		require.NoError(t, l.Last(&last))
		require.Equal(t, proposal(want[len(want)-1], tag), &last, "Last")
	}
}

// requireNamesID checks that err is an error whose text names id.
func requireNamesID(t *testing.T, err error, id uint64) {
	t.Helper()
	require.Error(t, err)
	require.Contains(t, err.Error(), strconv.FormatUint(id, 10), "the error should name the id")
}
