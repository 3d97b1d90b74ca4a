package paxos

import (
	"unsafe"

	"github.com/mjpitz/myago/paxos/internal/core"
)

// Conversions between the wire types and the core's. Command and
// core.Command have identical fields (the conversion below only compiles
// while they do), so batches are shared, not copied: ownership rules (a
// message is never modified after it is passed on) make sharing safe.

var _ = core.Command(Command{})

func toCoreCmds(cs []Command) []core.Command {
	if len(cs) == 0 {
		return nil
	}
	return unsafe.Slice((*core.Command)(unsafe.Pointer(unsafe.SliceData(cs))), len(cs))
}

func fromCoreCmds(cs []core.Command) []Command {
	if len(cs) == 0 {
		return nil
	}
	return unsafe.Slice((*Command)(unsafe.Pointer(unsafe.SliceData(cs))), len(cs))
}

// entryFromWire reads an entry as it travels in pages, Observe streams and
// the AcceptedLog: ID is the ballot.
func entryFromWire(p *Proposal) core.Entry {
	return core.Entry{Slot: p.Slot, Ballot: p.ID, Cmds: toCoreCmds(p.Commands), Decided: p.Decided}
}

func entryToWire(e core.Entry, chosen uint64) *Proposal {
	return &Proposal{ID: e.Ballot, Slot: e.Slot, Commands: fromCoreCmds(e.Cmds), Decided: e.Decided, Chosen: chosen}
}

func prepareToWire(m core.Prepare) *Request {
	return &Request{ID: m.Ballot, Slot: m.From, Proposer: m.Proposer}
}

func prepareFromWire(r *Request) core.Prepare {
	return core.Prepare{Ballot: r.ID, From: r.Slot, Proposer: r.Proposer}
}

func promiseToWire(p core.Promise) *Promise {
	w := &Promise{ID: p.Ballot, Chosen: p.Chosen, More: p.More}
	if len(p.Entries) > 0 {
		w.Entries = make([]*Proposal, len(p.Entries))
		for i, e := range p.Entries {
			w.Entries[i] = entryToWire(e, 0)
		}
	}
	return w
}

func promiseFromWire(w *Promise) core.Promise {
	p := core.Promise{Ballot: w.ID, Chosen: w.Chosen, More: w.More}
	if len(w.Entries) > 0 {
		p.Entries = make([]core.Entry, 0, len(w.Entries))
		for _, e := range w.Entries {
			if e != nil {
				p.Entries = append(p.Entries, entryFromWire(e))
			}
		}
	}
	return p
}

func acceptToWire(m core.Accept) *Proposal {
	return &Proposal{ID: m.Ballot, Slot: m.Slot, Commands: fromCoreCmds(m.Cmds), Chosen: m.Chosen}
}

func acceptFromWire(p *Proposal) core.Accept {
	return core.Accept{Ballot: p.ID, Slot: p.Slot, Cmds: toCoreCmds(p.Commands), Chosen: p.Chosen}
}

func acceptedToWire(a core.Accepted) *Proposal {
	return &Proposal{ID: a.Ballot, Slot: a.Slot, Chosen: a.Chosen}
}

func acceptedFromWire(p *Proposal) core.Accepted {
	return core.Accepted{Ballot: p.ID, Slot: p.Slot, Chosen: p.Chosen}
}

// prepareResultFromWire turns a MultiAcceptorClient's merged Promise into the
// core's view of phase 1.
func prepareResultFromWire(m core.Prepare, w *Promise) core.PrepareResult {
	r := core.PrepareResult{Ballot: m.Ballot, From: m.From}
	if w == nil {
		return r
	}
	if w.ID != m.Ballot {
		if w.ID > m.Ballot {
			r.Higher = w.ID
		}
		return r
	}
	p := promiseFromWire(w)
	r.Granted, r.Chosen, r.Entries = true, p.Chosen, p.Entries
	r.Through = ^uint64(0)
	if w.More {
		r.Through = m.From - 1
		if n := len(p.Entries); n > 0 {
			r.Through = p.Entries[n-1].Slot
		}
	}
	return r
}

// prepareResultToWire is the merged Promise a MultiAcceptorClient returns.
func prepareResultToWire(r core.PrepareResult) *Promise {
	if !r.Granted {
		return &Promise{ID: r.Higher}
	}
	w := promiseToWire(core.Promise{Ballot: r.Ballot, Chosen: r.Chosen, Entries: r.Entries})
	w.More = r.Through != ^uint64(0)
	return w
}
