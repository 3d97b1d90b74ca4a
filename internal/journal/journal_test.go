package journal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// store is a model of the store behind a journal: a map that records apply
// to, and the state its last completed checkpoint made durable.
type store struct {
	mu      sync.Mutex
	state   map[string]string
	durable map[string]string
	ckpts   int
	fail    error
	slow    bool // checkpoints take a while, so that a crash can find one running
}

func newStore() *store {
	return &store{state: map[string]string{}, durable: map[string]string{}}
}

func (s *store) apply(p []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, v, _ := bytes.Cut(p, []byte("="))
	s.state[string(k)] = string(v)
}

func (s *store) checkpoint() error {
	s.mu.Lock()
	snap := maps.Clone(s.state)
	fail := s.fail
	s.mu.Unlock()
	if fail != nil {
		return fail
	}
	if s.slow {
		time.Sleep(time.Duration(rand.IntN(300)) * time.Microsecond)
	}
	s.mu.Lock()
	s.durable = snap
	s.ckpts++
	s.mu.Unlock()
	return nil
}

// reopen opens the journal in dir over a store that kept only base, and
// returns the state replay rebuilt and the sequence numbers it saw.
func reopen(t *testing.T, dir string, fileBytes int64, base map[string]string) (*Journal, *store, []uint64) {
	return reopenWith(t, dir, Options{FileBytes: fileBytes}, base)
}

func reopenWith(t *testing.T, dir string, opts Options, base map[string]string) (*Journal, *store, []uint64) {
	t.Helper()
	s := newStore()
	if base != nil {
		s.state = maps.Clone(base)
	}
	var seqs []uint64
	opts.Checkpoint = s.checkpoint
	j, err := Open(dir, opts, func(seq uint64, p []byte) error {
		seqs = append(seqs, seq)
		s.apply(p)
		return nil
	})
	require.NoError(t, err)
	return j, s, seqs
}

func appendApply(t *testing.T, j *Journal, s *store, p string) {
	t.Helper()
	require.NoError(t, j.Append([]byte(p)))
	s.apply([]byte(p))
}

func TestReplayReturnsEveryRecordInOrder(t *testing.T) {
	dir := t.TempDir()
	j, s, seqs := reopen(t, dir, 0, nil)
	require.Empty(t, seqs)
	for i := range 100 {
		appendApply(t, j, s, fmt.Sprintf("k%d=v%d", i%7, i))
	}
	require.NoError(t, j.Close())
	require.ErrorIs(t, j.Append([]byte("x=y")), ErrClosed)

	j2, s2, seqs := reopen(t, dir, 0, nil)
	defer j2.Close()
	require.Len(t, seqs, 100)
	for i, seq := range seqs {
		require.Equal(t, uint64(i+1), seq)
	}
	require.Equal(t, s.state, s2.state)
}

func recordOffsets(t *testing.T, path string) []int64 {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var offs []int64
	for off := 0; off+headerBytes <= len(b); {
		n := int(binary.LittleEndian.Uint32(b[off:]))
		if n == 0 {
			break
		}
		offs = append(offs, int64(off))
		off += headerBytes + n
	}
	return offs
}

func TestATornOrCorruptTailEndsTheChainAndIsOverwritten(t *testing.T) {
	for _, damage := range []string{"torn", "flipped"} {
		t.Run(damage, func(t *testing.T) {
			dir := t.TempDir()
			j, s, _ := reopen(t, dir, 0, nil)
			appendApply(t, j, s, "a=1")
			appendApply(t, j, s, "b=2")
			appendApply(t, j, s, "c=3")
			require.NoError(t, j.Close())
			path := filepath.Join(dir, "journal-0")
			offs := recordOffsets(t, path)
			require.Len(t, offs, 3)
			f, err := os.OpenFile(path, os.O_RDWR, 0)
			require.NoError(t, err)
			switch damage {
			case "torn": // the third record half written, zeros after it
				_, err = f.WriteAt(make([]byte, 8), offs[2]+headerBytes)
			case "flipped": // one bit of the second record's payload
				_, err = f.WriteAt([]byte{'B'}, offs[1]+headerBytes)
			}
			require.NoError(t, err)
			require.NoError(t, f.Close())

			j, s, seqs := reopen(t, dir, 0, nil)
			want := map[string]string{"a": "1", "b": "2"}
			if damage == "flipped" {
				want = map[string]string{"a": "1"}
			}
			require.Equal(t, want, s.state)
			appendApply(t, j, s, "d=4")
			require.NoError(t, j.Close())

			_, s2, seqs2 := reopen(t, dir, 0, nil)
			require.Equal(t, append(seqs, seqs[len(seqs)-1]+1), seqs2)
			require.Equal(t, s.state, s2.state)
		})
	}
}

// crash stops the journal as a crash would: a running checkpoint does not
// get to finish, and the store keeps what the completed ones made durable.
func crash(j *Journal, s *store) map[string]string {
	s.mu.Lock()
	durable := maps.Clone(s.durable)
	s.mu.Unlock()
	j.mu.Lock()
	defer j.mu.Unlock()
	j.err = ErrClosed
	_ = j.closeFiles()
	return durable
}

// TestCrashAnywhereLosesNothingAppended writes random records through small
// files (so the journal switches files often), stops at random points, and
// reopens over the worst and the best store a crash can leave: only what
// the completed checkpoints made durable, or everything applied. Replay
// must rebuild exactly what was applied in both.
//
// With files of whole blocks the journal writes directly (where the
// filesystem takes it), and records up to a few blocks long cross block
// boundaries and switch files just as often.
func TestCrashAnywhereLosesNothingAppended(t *testing.T) {
	for _, blocks := range []bool{false, true} {
		for seed := range uint64(40) {
			t.Run(fmt.Sprintf("blocks=%v/%d", blocks, seed), func(t *testing.T) {
				crashAnywhere(t, seed, blocks)
			})
		}
	}
}

func crashAnywhere(t *testing.T, seed uint64, blocks bool) {
	rng := rand.New(rand.NewPCG(seed, 7))
	dir := t.TempDir()
	opts := Options{FileBytes: int64(64 + rng.IntN(400))}
	maxPayload := 40
	if blocks {
		opts.FileBytes, maxPayload = int64(DirectBlock*(2+rng.IntN(3))), 3*DirectBlock/2
	}
	if seed%2 == 1 {
		opts.CheckpointBytes = int64(1 + rng.IntN(5*maxPayload))
	}
	j, s, _ := reopenWith(t, dir, opts, nil)
	s.slow = true
	for range 1 + rng.IntN(6) { // several lives
		for range rng.IntN(60) {
			p := fmt.Sprintf("k%d=%s", rng.IntN(10), bytes.Repeat([]byte{'x'}, rng.IntN(maxPayload)))
			appendApply(t, j, s, p)
		}
		durable := crash(j, s)
		s.mu.Lock()
		want := maps.Clone(s.state)
		s.mu.Unlock()
		for _, base := range []map[string]string{durable, want} {
			j, got, _ := reopenWith(t, dir, opts, base)
			require.Equal(t, want, got.state)
			require.NoError(t, j.Close())
		}
		j, s, _ = reopenWith(t, dir, opts, durable)
		s.slow = true
		require.Equal(t, want, s.state)
	}
	require.NoError(t, j.Close())
}

func TestAFailedCheckpointStopsTheSwitch(t *testing.T) {
	dir := t.TempDir()
	s := newStore()
	s.fail = errors.New("disk gone")
	j, err := Open(dir, Options{FileBytes: 100, Checkpoint: s.checkpoint}, func(uint64, []byte) error { return nil })
	require.NoError(t, err)
	defer j.Close()
	p := bytes.Repeat([]byte{'x'}, 30)
	// Two records fill a file. The switch to the second file needs no
	// checkpoint (nothing was written before the first); the switch back
	// needs the one started then.
	for range 4 {
		require.NoError(t, j.Append(p))
	}
	require.ErrorContains(t, j.Append(p), "disk gone")
	require.ErrorContains(t, j.Append([]byte("y")), "disk gone", "the failure is sticky")
}

func TestCheckpointsEveryCheckpointBytes(t *testing.T) {
	s := newStore()
	j, err := Open(t.TempDir(), Options{CheckpointBytes: 1000, Checkpoint: s.checkpoint}, func(uint64, []byte) error { return nil })
	require.NoError(t, err)
	p := bytes.Repeat([]byte{'x'}, 84) // 100 bytes a record
	for range 100 {
		require.NoError(t, j.Append(p))
	}
	require.NoError(t, j.Close()) // waits for the last one
	// One per 1,000 bytes, less those due while the one before still ran.
	require.GreaterOrEqual(t, s.ckpts, 1)
	require.LessOrEqual(t, s.ckpts, 10)

	s = newStore()
	s.fail = errors.New("disk gone")
	j, err = Open(t.TempDir(), Options{CheckpointBytes: 100, Checkpoint: s.checkpoint}, func(uint64, []byte) error { return nil })
	require.NoError(t, err)
	defer j.Close()
	require.NoError(t, j.Append(p)) // starts the checkpoint that fails
	require.Eventually(t, func() bool { return j.Append(p) != nil }, 10*time.Second, time.Millisecond)
	require.ErrorContains(t, j.Append(p), "disk gone")
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	noop := func(uint64, []byte) error { return nil }
	_, err := Open(dir, Options{}, noop)
	require.ErrorContains(t, err, "Checkpoint is required")
	_, err = Open(dir, Options{FileBytes: 10, Checkpoint: func() error { return nil }}, noop)
	require.ErrorContains(t, err, "too small")
	_, err = Open(filepath.Join(dir, "missing"), Options{Checkpoint: func() error { return nil }}, noop)
	require.Error(t, err)

	j, err := Open(dir, Options{FileBytes: 100, Checkpoint: func() error { return nil }}, noop)
	require.NoError(t, err)
	require.ErrorIs(t, j.Append(make([]byte, 100)), ErrTooLarge)
	require.Error(t, j.Append(nil))
	require.NoError(t, j.Append([]byte("a=1")))
	require.NoError(t, j.Close())
	require.NoError(t, j.Close())

	boom := errors.New("store refused")
	_, err = Open(dir, Options{Checkpoint: func() error { return nil }}, func(uint64, []byte) error { return boom })
	require.ErrorIs(t, err, boom)
}
