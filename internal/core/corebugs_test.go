//go:build corebugs

package core

// FAILING TESTS, kept out of the default build on purpose: each one shows a
// defect of the core found while writing its tests, and fails until the
// core is fixed (the tests are right; the code is not). Run them with
//
//	go test -tags corebugs ./internal/core -run CoreBug -v
//
// Once a defect is fixed, move its test into the matching _test.go file.

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// BUG 5 (liveness, clock steps back): wantCampaign compares the input time
// with campaignAt, an absolute deadline set against an earlier reading of
// the clock — 0 for a new proposer, or p.now + back-off after a lost
// leadership, where p.now is the highest time any input ever carried. When
// the time an input carries steps back by J (or a new proposer's clock
// reads below 0), the member does not campaign for J, whatever the back-off
// cap. Session retries, leader resends and hint freshness ("now - SeenAt <
// timeout", true for a SeenAt in the future) stretch by J the same way.
// The library's driver feeds clock.Since(epoch), which starts at 0 and
// never steps back with a real or fake clockwork clock, so this needs a
// Clock that steps back; the simulator's clock jumps do, and in a run
// without forwarding the member has no other way to get its commands
// chosen: before this branch was rebased on main's read barriers (which
// changed what each seed draws), seed 15690 (3 members, liveness mode; m1
// restarted with its clock 9 s behind) failed "liveness: c1-18 invoked at
// 6.731s, after the cluster healed, did not complete". No seed in 1..22000
// shows it on the current code, but with the planted bug 09 applied (which
// only changes what each seed draws), seed 162 fails "liveness: c4-22
// invoked at 5.756s, after the cluster healed, did not complete": m0, its
// clock 5 s behind, holds 8 commands and never campaigns. Either the core
// rebases its deadlines when time steps back (at(now): if now < p.now, move
// campaignAt back by the step) and treats a SeenAt in the future as stale,
// or the core documents that time must not step back and the simulator's
// jumps step forward only.
func TestCoreBugBackoffAfterAClockStepBack(t *testing.T) {
	const before, after = int64(10e9), int64(1e9) // the clock steps back 9 s
	c := newCluster(t, 3)
	p := newTestProposer(1, ProposerConfig{})
	_, _ = p.Propose([]byte("a"), before)
	c.drive(p, 5, before)
	p.SetHint(Hint{Proposer: "m1", Ballot: 99, SeenAt: before}) // preempted
	_ = p.Output()
	_, ok := p.Propose([]byte("b"), after)
	require.True(t, ok)
	_ = p.Output()
	p.Tick(after + testCap)
	assert.True(t, p.Output().WantBallot, "no campaign within the back-off cap (%v) after the clock stepped back", time.Duration(testCap))
}

func TestCoreBugNewProposerWithANegativeClockNeverCampaigns(t *testing.T) {
	const now = int64(-4e9) // a member whose clock is 4 s behind the epoch
	p := newTestProposer(1, ProposerConfig{})
	_, ok := p.Propose([]byte("a"), now)
	require.True(t, ok)
	got := p.Output().WantBallot
	p.Tick(now + testCap)
	got = got || p.Output().WantBallot
	assert.True(t, got, "a new proposer with a command and no leader campaigns at once")
}
