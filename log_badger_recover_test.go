package paxos

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestBadgerRecoverClosed checks the last-resort guard against badger's
// panics (v3 panics when an iterator opens on a DB closed after the
// IsClosed check): the panic becomes an error, wrapping ErrClosed when the
// DB is closed, while a panic of the user's fn goes on.
func TestBadgerRecoverClosed(t *testing.T) {
	db, err := OpenBadger(t.TempDir(), nil)
	require.NoError(t, err)
	l := &Badger{DB: db}

	guarded := func(inFn bool) (err error) {
		defer l.recoverClosed(&err, &inFn, "range [1, 2]")
		panic("DB Closed")
	}

	err = guarded(false)
	require.ErrorContains(t, err, "range [1, 2]")
	require.False(t, errors.Is(err, ErrClosed), "the DB is open")

	require.NoError(t, db.Close())
	err = guarded(false)
	require.ErrorIs(t, err, ErrClosed)
	require.ErrorContains(t, err, "badger panicked: DB Closed")

	require.PanicsWithValue(t, "DB Closed", func() { _ = guarded(true) })
}
