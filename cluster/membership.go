package cluster

import (
	"slices"
	"sync"
)

// Membership is the set of known members of a cluster, each one either
// active or left. Members are identified by the address of their RPC server
// ("host:port"); discoveries fill it and paxos reads it.
//
// The zero value is an empty Membership ready for use. A Membership is safe
// for concurrent use and must not be copied after first use.
//
// Transitions (each method takes a list and treats it as a set):
//
//   - Add makes members active: unknown ones are added, left ones become
//     active again, active ones stay as they are.
//   - Left marks members as left: active ones become left, unknown ones are
//     recorded as left (so a member seen only as gone still counts), left ones
//     stay as they are.
//   - Remove forgets members entirely, whatever their state; unknown ones are
//     ignored.
//
// Empty strings are not addresses and are ignored by all three. A call that
// changes nothing notifies no watcher.
type Membership struct {
	mu sync.Mutex
	// members maps each known member to whether it is active (true) or has
	// left (false). Removed members are deleted.
	members  map[string]bool
	watchers map[*watcher]struct{}
}

// MembershipChange is the state of a Membership as a watcher sees it.
//
// Active and Left are the complete, sorted lists of active and left members
// at the time of the message, not deltas, so the newest message alone tells
// the whole state. Removed lists, sorted, the members removed since this
// watcher's previous message that are not members again by now (a watcher
// that falls behind gets the removals of every change it skipped); it is
// empty in the first message. Empty lists are nil. The slices belong to the
// receiver.
type MembershipChange struct {
	Active  []string
	Left    []string
	Removed []string
}

// CancelWatch stops a watch: it closes the watch's channel (dropping a
// message not yet read) and frees everything the watch held. It may be called
// any number of times, from any goroutine.
type CancelWatch func()

// watcher holds one pending message at most: publishing replaces an unread
// message instead of waiting for the reader, so writers never block and a
// reader always ends up with the newest state.
type watcher struct {
	ch chan MembershipChange // capacity 1; sent to only with Membership.mu held
}

// Add makes members active (see Membership for the transitions).
func (m *Membership) Add(members []string) { m.mark(members, true) }

// Left marks members as left (see Membership for the transitions).
func (m *Membership) Left(members []string) { m.mark(members, false) }

// mark sets members active or left, known or not.
func (m *Membership) mark(members []string, active bool) {
	m.update(members, func(member string) bool {
		if was, known := m.members[member]; known && was == active {
			return false
		}
		m.members[member] = active
		return true
	}, false)
}

// Remove forgets members entirely (see Membership for the transitions).
// Watchers find them in MembershipChange.Removed.
func (m *Membership) Remove(members []string) {
	m.update(members, func(member string) bool {
		if _, known := m.members[member]; !known {
			return false
		}
		delete(m.members, member)
		return true
	}, true)
}

// update applies apply to every non-empty member under the lock and
// notifies the watchers if anything changed. apply reports whether it changed
// the state; with collect set, the changed members are passed on as removed.
func (m *Membership) update(members []string, apply func(member string) bool, collect bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.members == nil {
		m.members = make(map[string]bool)
	}
	changed := false
	var removed []string
	for _, member := range members {
		if member == "" || !apply(member) {
			continue
		}
		changed = true
		if collect {
			removed = append(removed, member)
		}
	}
	if changed {
		m.publishLocked(removed)
	}
}

// Majority is the number of members that make a majority of the known
// members: (active + left) / 2 + 1. Left members still count, because a
// member that is merely unreachable keeps its vote; removed members do not.
// An empty Membership has a majority of 1.
//
// paxos fixes its quorum when it starts (contract §2.9); Majority describes
// the Membership as it is now.
func (m *Membership) Majority() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.members)/2 + 1
}

// Snapshot returns every member, the sorted active members first and then
// the sorted left ones, and how many are active: members[:active] are active
// and members[active:] have left. The slice belongs to the caller.
func (m *Membership) Snapshot() (members []string, active int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	act, left := m.sortedLocked()
	return append(act, left...), len(act)
}

// Watch returns a channel of membership states and a function that ends the
// watch. The first message is the current state; every later message is the
// state after one or more changes, in order. The channel holds one message:
// a watcher that does not keep up never blocks Add, Left or Remove, and the
// next message it reads is the newest state (skipped states are coalesced
// into it, see MembershipChange.Removed). The channel is closed by cancel,
// which the caller must call when done. A watcher may call any method of the
// Membership while it handles a message.
func (m *Membership) Watch() (<-chan MembershipChange, CancelWatch) {
	w := &watcher{ch: make(chan MembershipChange, 1)}

	m.mu.Lock()
	if m.watchers == nil {
		m.watchers = make(map[*watcher]struct{})
	}
	m.watchers[w] = struct{}{}
	active, left := m.sortedLocked()
	w.ch <- MembershipChange{Active: active, Left: left}
	m.mu.Unlock()

	var once sync.Once
	return w.ch, func() {
		once.Do(func() {
			m.mu.Lock()
			defer m.mu.Unlock()
			delete(m.watchers, w)
			select {
			case <-w.ch:
			default:
			}
			close(w.ch)
		})
	}
}

// publishLocked hands every watcher the current state, replacing a message
// it has not read yet. It never blocks: only publishers send, and they hold
// m.mu, so after draining the buffer there is room for the new message.
func (m *Membership) publishLocked(removed []string) {
	if len(m.watchers) == 0 {
		return
	}
	active, left := m.sortedLocked()
	for w := range m.watchers {
		change := MembershipChange{
			Active:  slices.Clone(active),
			Left:    slices.Clone(left),
			Removed: slices.Clone(removed),
		}
		select {
		case pending := <-w.ch:
			change.Removed = m.mergeRemovedLocked(pending.Removed, change.Removed)
		default:
		}
		slices.Sort(change.Removed)
		w.ch <- change
	}
}

// mergeRemovedLocked returns the union of two removal lists without the
// members that have come back since.
func (m *Membership) mergeRemovedLocked(older, newer []string) []string {
	for _, member := range older {
		if _, back := m.members[member]; !back && !slices.Contains(newer, member) {
			newer = append(newer, member)
		}
	}
	return newer
}

// sortedLocked returns fresh sorted lists of the active and left members
// (nil when empty).
func (m *Membership) sortedLocked() (active, left []string) {
	for member, isActive := range m.members {
		if isActive {
			active = append(active, member)
		} else {
			left = append(left, member)
		}
	}
	slices.Sort(active)
	slices.Sort(left)
	return active, left
}
