package paxos

import "sync"

// mailbox hands work to a driver loop without ever blocking the sender:
// the loops post to each other, and a bounded channel between them could
// deadlock. What it holds is bounded by the protocol's own windows.
type mailbox struct {
	mu     sync.Mutex
	items  []func()
	notify chan struct{}
}

func newMailbox() *mailbox { return &mailbox{notify: make(chan struct{}, 1)} }

func (m *mailbox) post(fn func()) {
	m.mu.Lock()
	m.items = append(m.items, fn)
	m.mu.Unlock()
	m.wake()
}

// wake wakes the loop without handing it anything (a timer, a context's end).
func (m *mailbox) wake() {
	select {
	case m.notify <- struct{}{}:
	default:
	}
}

// take returns everything posted so far.
func (m *mailbox) take(buf []func()) []func() {
	m.mu.Lock()
	buf = append(buf[:0], m.items...)
	clear(m.items)
	m.items = m.items[:0]
	m.mu.Unlock()
	return buf
}
