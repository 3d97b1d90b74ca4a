package paxos

import (
	"context"
	"fmt"
	"time"

	"github.com/mjpitz/myago/paxos/internal/core"
)

// Status is a member's view of the cluster, for operators and readiness
// checks (none of which needs to write anything into the log).
type Status struct {
	// Self is Config.Self.
	Self string `json:"self,omitempty"`
	// Voters are the voters fixed by Start.
	Voters []string `json:"voters"`
	// Running is true between Start and its return.
	Running bool `json:"running"`
	// Leader is the member this member's acceptor last granted a promise to
	// (its ballot in LeaderBallot); LeaderSeen says when it last heard from
	// that ballot (zero: not since it started).
	Leader       string    `json:"leader,omitempty"`
	LeaderBallot uint64    `json:"leader_ballot,omitempty"`
	LeaderSeen   time.Time `json:"leader_seen,omitempty"`
	// State is this member's own leadership: "follower", "preparing" or
	// "leading", at Ballot.
	State  string `json:"state"`
	Ballot uint64 `json:"ballot,omitempty"`
	// ChosenSlot is the prefix of slots this member knows chosen;
	// DeliveredSlot the prefix its learner delivered.
	ChosenSlot    uint64 `json:"chosen_slot"`
	DeliveredSlot uint64 `json:"delivered_slot"`
	// Position is the last position learned; Recorded the last one written
	// to the RecordedLog; Lag their difference.
	Position uint64 `json:"position"`
	Recorded uint64 `json:"recorded"`
	Lag      uint64 `json:"lag"`
	// Pending counts this member's proposals in flight.
	Pending int `json:"pending"`
}

// Status returns the member's view. It does not block on the network.
func (p *Paxos) Status() Status {
	s := Status{Self: p.cfg.Self, Voters: p.Voters(), State: core.Follower.String()}
	h := p.acc.leader()
	s.Leader, s.LeaderBallot, s.LeaderSeen = h.proposer, h.ballot, h.seen
	mp := p.Proposer.member
	running := false
	select {
	case <-mp.started:
		select {
		case <-mp.stopped:
		default:
			running = true
		}
	default:
	}
	s.Running = running
	if running {
		reply := make(chan Status, 1)
		mp.box.post(func() {
			st, b := mp.core.Leader().State()
			reply <- Status{State: st.String(), Ballot: b, ChosenSlot: mp.core.Leader().Chosen(), Pending: mp.core.Session().Len()}
		})
		select {
		case r := <-reply:
			s.State, s.Ballot, s.ChosenSlot, s.Pending = r.State, r.Ballot, r.ChosenSlot, r.Pending
		case <-mp.stopped:
		case <-time.After(time.Second):
		}
	}
	s.DeliveredSlot = p.Observer.next.Load() - min(p.Observer.next.Load(), 1)
	s.Position = p.Observer.pos.Load()
	s.Recorded = p.Observer.Recorded()
	if s.Position > s.Recorded {
		s.Lag = s.Position - s.Recorded
	}
	return s
}

// Barrier returns a position such that every value chosen before the call
// sits at or below it: a linearizable read point. It sends a no-op through
// the log (taking a slot, never a position); a reader that then waits for
// WaitRecorded(pos) and reads its state machine sees every write that
// completed before Barrier was called.
func (p *Paxos) Barrier(ctx context.Context) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	pos, err := p.Proposer.member.propose(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("paxos: barrier: %w", err)
	}
	return pos, nil
}
