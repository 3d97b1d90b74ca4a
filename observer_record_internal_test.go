package paxos

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/mjpitz/myago/paxos/internal/core"
)

// A learner catching up can deliver more at once than a durable Log takes
// in one transaction (Badger refuses one over ~15% of a memtable): the
// recording must still go through, not retry the same batch forever.
func TestRecordTakesDeliveriesLargerThanATransaction(t *testing.T) {
	db, err := OpenBadger(t.TempDir(), nil)
	require.NoError(t, err)
	defer db.Close()
	o := &Observer{Log: (&Badger{DB: db}).WithPrefix("recorded"), MaxBackoff: 10 * time.Millisecond}
	o.init()
	l := &learnerRun{o: o}

	const n = 40_000 // 40,000 records of ~250 bytes: ~10 MB, twice what one transaction takes
	value := make([]byte, 200)
	ds := make([]core.Delivery, n)
	for i := range ds {
		ds[i] = core.Delivery{Pos: uint64(i + 1), Slot: uint64(i/64 + 1), Offset: uint32(i % 64),
			Cmd: core.Command{Session: 7, Seq: uint64(i + 1), Value: value}}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	require.True(t, l.record(ctx, ds, clockwork.NewRealClock(), slog.New(slog.DiscardHandler)), "recording gave up")
	require.Equal(t, uint64(n), o.Recorded())
	var last Proposal
	require.NoError(t, o.Log.Last(&last))
	require.Equal(t, uint64(n), last.ID)
}

// The same for an acceptor that learns thousands of entries at once (a
// learner's catch-up fed back into its own acceptor).
func TestAcceptorLearnsMoreThanATransaction(t *testing.T) {
	db, err := OpenBadger(t.TempDir(), nil)
	require.NoError(t, err)
	defer db.Close()
	store := &Badger{DB: db}
	a, err := newAcceptor(store.WithPrefix("promise"), store.WithPrefix("accepted"), clockwork.NewRealClock(), nil)
	require.NoError(t, err)
	defer a.stop()

	const n = 40_000
	es := make([]core.Entry, n)
	for i := range es {
		es[i] = core.Entry{Slot: uint64(i + 1), Ballot: 1, Decided: true,
			Cmds: []core.Command{{Session: 7, Seq: uint64(i + 1), Value: make([]byte, 200)}}}
	}
	require.NoError(t, a.learn(es))
	require.Eventually(t, func() bool {
		var last Proposal
		return a.entries.Last(&last) == nil && last.Slot == n
	}, 20*time.Second, 10*time.Millisecond, "the learned entries were never written")
}
