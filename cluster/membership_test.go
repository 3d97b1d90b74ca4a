package cluster_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mjpitz/myago/paxos/cluster"
)

// op is one call on a Membership.
type op struct {
	kind    string // "add", "left", "remove"
	members []string
}

func (o op) apply(m *cluster.Membership) {
	switch o.kind {
	case "add":
		m.Add(o.members)
	case "left":
		m.Left(o.members)
	case "remove":
		m.Remove(o.members)
	default:
		panic("unknown op " + o.kind)
	}
}

func add(ms ...string) op    { return op{"add", ms} }
func left(ms ...string) op   { return op{"left", ms} }
func remove(ms ...string) op { return op{"remove", ms} }

// change is shorthand for a MembershipChange (nil for empty lists).
func change(active, left, removed []string) cluster.MembershipChange {
	return cluster.MembershipChange{Active: active, Left: left, Removed: removed}
}

func list(ms ...string) []string { return ms }

func TestMembershipTransitions(t *testing.T) {
	tests := []struct {
		name     string
		setup    []op
		op       op
		want     cluster.MembershipChange // nil lists mean empty
		majority int
		notified bool // whether op sends watchers a message
	}{
		{"add to empty", nil, add("a", "b"), change(list("a", "b"), nil, nil), 2, true},
		{"add keeps sorted", []op{add("c")}, add("b", "a"), change(list("a", "b", "c"), nil, nil), 2, true},
		{"add twice in one call", nil, add("a", "a"), change(list("a"), nil, nil), 1, true},
		{"add active is a no-op", []op{add("a")}, add("a"), change(list("a"), nil, nil), 1, false},
		{"add left makes active", []op{add("a", "b"), left("a")}, add("a"), change(list("a", "b"), nil, nil), 2, true},
		{"left active", []op{add("a", "b", "c")}, left("b"), change(list("a", "c"), list("b"), nil), 2, true},
		{"left unknown is recorded", []op{add("a")}, left("z"), change(list("a"), list("z"), nil), 2, true},
		{"left left is a no-op", []op{add("a"), left("a")}, left("a"), change(nil, list("a"), nil), 1, false},
		{"remove active", []op{add("a", "b")}, remove("a"), change(list("b"), nil, list("a")), 1, true},
		{"remove left", []op{add("a", "b"), left("a")}, remove("a"), change(list("b"), nil, list("a")), 1, true},
		{"remove unknown is a no-op", []op{add("a")}, remove("z"), change(list("a"), nil, nil), 1, false},
		{"remove twice in one call", []op{add("a", "b")}, remove("a", "a"), change(list("b"), nil, list("a")), 1, true},
		{"empty strings are ignored", []op{add("a")}, add("", "b", ""), change(list("a", "b"), nil, nil), 2, true},
		{"only empty strings", []op{add("a")}, left(""), change(list("a"), nil, nil), 1, false},
		{"nil list", []op{add("a")}, add(), change(list("a"), nil, nil), 1, false},
		{"left members count for majority", []op{add("a", "b", "c", "d")}, left("c", "d"), change(list("a", "b"), list("c", "d"), nil), 3, true},
		{"removed members do not count", []op{add("a", "b", "c", "d")}, remove("c", "d"), change(list("a", "b"), nil, list("c", "d")), 2, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m cluster.Membership
			for _, o := range tt.setup {
				o.apply(&m)
			}
			ch, cancel := m.Watch()
			defer cancel()
			<-ch // the state before op

			tt.op.apply(&m)

			members, active := m.Snapshot()
			assert.Equal(t, append(slices.Clone(tt.want.Active), tt.want.Left...), nilIfEmpty(members))
			assert.Equal(t, len(tt.want.Active), active)
			assert.Equal(t, tt.majority, m.Majority())
			select {
			case got := <-ch:
				require.True(t, tt.notified, "unexpected message %+v", got)
				assert.Equal(t, tt.want, got)
			default:
				require.False(t, tt.notified, "no message after a change")
			}
		})
	}
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

func TestMembershipZeroValue(t *testing.T) {
	var m cluster.Membership
	members, active := m.Snapshot()
	assert.Empty(t, members)
	assert.Zero(t, active)
	assert.Equal(t, 1, m.Majority())

	ch, cancel := m.Watch()
	defer cancel()
	assert.Equal(t, cluster.MembershipChange{}, <-ch)
}

func TestMembershipWatchFirstMessageIsCurrentState(t *testing.T) {
	var m cluster.Membership
	m.Add([]string{"b", "a", "c"})
	m.Left([]string{"c"})
	m.Remove([]string{"a"})

	ch, cancel := m.Watch()
	defer cancel()
	// Removals before the watch started are not news to this watcher.
	assert.Equal(t, change(list("b"), list("c"), nil), <-ch)
}

func TestMembershipWatchInOrder(t *testing.T) {
	var m cluster.Membership
	ch, cancel := m.Watch()
	defer cancel()
	<-ch

	steps := []struct {
		op   op
		want cluster.MembershipChange
	}{
		{add("a"), change(list("a"), nil, nil)},
		{add("b"), change(list("a", "b"), nil, nil)},
		{left("a"), change(list("b"), list("a"), nil)},
		{add("a"), change(list("a", "b"), nil, nil)},
		{remove("b"), change(list("a"), nil, list("b"))},
		{left("c"), change(list("a"), list("c"), nil)},
	}
	for i, s := range steps {
		s.op.apply(&m)
		require.Equal(t, s.want, <-ch, "step %d", i)
	}
}

func TestMembershipWatchCoalesces(t *testing.T) {
	var m cluster.Membership
	ch, cancel := m.Watch()
	defer cancel()
	<-ch

	// The watcher reads nothing while 1,000 changes happen; none of them
	// blocks (the test would hang otherwise).
	for i := range 1000 {
		m.Add([]string{fmt.Sprint("m", i)})
	}
	m.Remove([]string{"m1", "m2", "m3"})
	m.Left([]string{"m4"})
	m.Remove([]string{"m5"})
	m.Add([]string{"m2"}) // back again: no longer removed

	got := <-ch
	members, active := m.Snapshot()
	assert.Equal(t, members[:active], got.Active)
	assert.Equal(t, members[active:], got.Left)
	assert.Equal(t, list("m1", "m3", "m5"), got.Removed, "removals of every skipped change, minus returns")
	select {
	case extra := <-ch:
		t.Fatalf("coalesced changes still pending: %d active", len(extra.Active))
	default:
	}

	// The next change starts a fresh Removed list.
	m.Remove([]string{"m6"})
	assert.Equal(t, list("m6"), (<-ch).Removed)
}

func TestMembershipCancelWatch(t *testing.T) {
	var m cluster.Membership
	m.Add([]string{"a"})
	ch, cancel := m.Watch()
	// The first message is pending; cancel drops it and closes the channel.
	cancel()
	_, ok := <-ch
	assert.False(t, ok, "channel closed after cancel")

	// Idempotent, also concurrently, and changes after it do not panic.
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(cancel)
	}
	wg.Wait()
	m.Add([]string{"b"})
	m.Remove([]string{"a"})

	// Other watchers are unaffected.
	ch2, cancel2 := m.Watch()
	defer cancel2()
	assert.Equal(t, change(list("b"), nil, nil), <-ch2)
}

func TestMembershipNoSharedSlices(t *testing.T) {
	var m cluster.Membership
	m.Add([]string{"a", "b"})
	m.Left([]string{"c"})

	ch1, cancel1 := m.Watch()
	defer cancel1()
	ch2, cancel2 := m.Watch()
	defer cancel2()
	<-ch1
	<-ch2

	m.Remove([]string{"d"}) // unknown: no message
	m.Remove([]string{"b"})
	got1, got2 := <-ch1, <-ch2
	got1.Active[0], got1.Left[0], got1.Removed[0] = "x", "x", "x"
	snap, _ := m.Snapshot()
	snap[0] = "y"

	assert.Equal(t, change(list("a"), list("c"), list("b")), got2, "watchers share nothing")
	again, active := m.Snapshot()
	assert.Equal(t, list("a", "c"), again, "snapshots share nothing with the state")
	assert.Equal(t, 1, active)
}

// A watcher may call back into the Membership, even change it, while it
// handles a message.
func TestMembershipWatcherCallsBack(t *testing.T) {
	var m cluster.Membership
	ch, cancel := m.Watch()
	defer cancel()

	done := make(chan struct{})
	go func() {
		defer close(done)
		for c := range ch {
			_ = m.Majority()
			_, _ = m.Snapshot()
			if slices.Contains(c.Active, "ping") {
				m.Left([]string{"ping"})
			}
			if slices.Contains(c.Left, "ping") {
				return
			}
		}
	}()
	m.Add([]string{"ping"})
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("watcher calling back into Membership deadlocked")
	}
}

// Many writers and slow watchers (one never reads until the end): writers
// always finish, and every watcher ends with the final state.
func TestMembershipConcurrent(t *testing.T) {
	const (
		writers    = 16
		opsEach    = 2000
		watchers   = 8
		addresses  = 32
		slowEveryN = 50
	)
	var m cluster.Membership
	type watch struct {
		ch     <-chan cluster.MembershipChange
		cancel cluster.CancelWatch
	}
	var ws []watch
	for range watchers + 1 {
		ch, cancel := m.Watch()
		ws = append(ws, watch{ch, cancel})
	}

	var readers sync.WaitGroup
	stop := make(chan struct{})
	lastSeen := make([]cluster.MembershipChange, watchers)
	for i := range watchers {
		readers.Go(func() {
			n := 0
			for {
				select {
				case c := <-ws[i].ch:
					lastSeen[i] = c
					// Slow: call back into the Membership and sometimes yield
					// the processor for a while.
					if _, active := m.Snapshot(); active > addresses || m.Majority() > addresses/2+1 {
						t.Errorf("impossible state: %d active, majority %d", active, m.Majority())
					}
					if n++; n%slowEveryN == 0 {
						time.Sleep(time.Millisecond)
					}
				case <-stop:
					return
				}
			}
		})
	}

	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 1))
			for range opsEach {
				member := []string{fmt.Sprint("10.0.0.", r.IntN(addresses), ":9000")}
				switch r.IntN(3) {
				case 0:
					m.Add(member)
				case 1:
					m.Left(member)
				default:
					m.Remove(member)
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	readers.Wait()

	members, active := m.Snapshot()
	final := cluster.MembershipChange{Active: nilIfEmpty(members[:active]), Left: nilIfEmpty(members[active:])}
	for i, w := range ws {
		// Whatever is still pending is the newest state; a reader that had
		// read everything has nothing pending and saw it already.
		var got cluster.MembershipChange
		if i < watchers {
			got = lastSeen[i]
		}
		select {
		case got = <-w.ch:
		default:
		}
		got.Removed = nil
		assert.Equal(t, final, got, "watcher %d", i)
		w.cancel()
	}
}
