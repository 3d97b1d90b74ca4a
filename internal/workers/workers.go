// Package workers runs short tasks on goroutines that are kept for the next
// task.
//
// A goroutine starts with a small stack and grows it by copying as calls go
// deeper. An RPC's path (client, codec, acceptor, protocol core) is deep
// enough that a fresh goroutine per call grew its stack several times per
// call: in-process, with one proposer, a sixth of the CPU of a Propose went
// to runtime.newstack/copystack. A worker keeps its grown stack. gRPC's
// server offers the same for the same reason (NumStreamWorkers).
package workers

import "sync"

// Pool hands tasks to idle workers, starts a worker when none is idle (up to
// Max of them) and runs a task on a goroutine of its own beyond that, so a
// task never waits behind another one. The zero value is not usable: use New.
type Pool struct {
	tasks chan func()
	quit  chan struct{}

	mu      sync.Mutex
	workers int
	max     int
	closed  bool
	wg      sync.WaitGroup
}

// New returns a pool of at most limit workers (at least 1).
func New(limit int) *Pool {
	return &Pool{tasks: make(chan func()), quit: make(chan struct{}), max: max(limit, 1)}
}

// Go runs fn on another goroutine.
func (p *Pool) Go(fn func()) {
	select {
	case p.tasks <- fn: // an idle worker took it
		return
	default:
	}
	p.mu.Lock()
	if p.closed || p.workers >= p.max {
		p.mu.Unlock()
		go fn()
		return
	}
	p.workers++
	p.wg.Add(1)
	p.mu.Unlock()
	go p.work(fn)
}

func (p *Pool) work(fn func()) {
	defer p.wg.Done()
	for {
		fn()
		fn = nil // do not keep the last task's closure alive while idle
		select {
		case fn = <-p.tasks:
		case <-p.quit:
			p.mu.Lock()
			p.workers--
			p.mu.Unlock()
			return
		}
	}
}

// Stop tells the workers to exit once their task is done, without waiting
// for them. Tasks given to Go afterwards run on goroutines of their own.
// Stop is idempotent.
func (p *Pool) Stop() {
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		close(p.quit)
	}
	p.mu.Unlock()
}

// Close is Stop, then waits until every worker has finished its task and
// exited.
func (p *Pool) Close() {
	p.Stop()
	p.wg.Wait()
}
