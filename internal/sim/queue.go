package sim

import "container/heap"

// event is something that happens at a virtual time. Events at the same
// time run in the order they were scheduled, so a run depends only on its
// seed.
type event struct {
	at  int64
	seq uint64
	fn  func()
}

type eventHeap []*event

func (h eventHeap) Len() int { return len(h) }
func (h eventHeap) Less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].seq < h[j].seq
}
func (h eventHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *eventHeap) Push(x any)   { *h = append(*h, x.(*event)) }
func (h *eventHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return e
}

type scheduler struct {
	now  int64
	seq  uint64
	heap eventHeap
}

func (s *scheduler) at(t int64, fn func()) {
	if t < s.now {
		t = s.now
	}
	s.seq++
	heap.Push(&s.heap, &event{at: t, seq: s.seq, fn: fn})
}

func (s *scheduler) after(d int64, fn func()) { s.at(s.now+d, fn) }

// step runs the next event; false when none is left or the next is past
// until.
func (s *scheduler) step(until int64) bool {
	if len(s.heap) == 0 || s.heap[0].at > until {
		return false
	}
	e := heap.Pop(&s.heap).(*event)
	s.now = e.at
	e.fn()
	return true
}
