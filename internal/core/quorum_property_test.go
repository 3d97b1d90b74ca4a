package core

import (
	"math/bits"
	"math/rand/v2"
	"testing"
	"testing/quick"
)

// Quorum arithmetic is what every safety argument rests on: any two
// majorities of the same voters share a voter ("Paxos Made Simple" §2.2:
// "any two majorities have at least one acceptor in common").

func TestPropertyTwoMajoritiesIntersect(t *testing.T) {
	for n := 1; n <= MaxVoters; n++ {
		if 2*Majority(n) <= n {
			t.Fatalf("n=%d: two majorities of %d can be disjoint", n, Majority(n))
		}
		if Majority(n) > n {
			t.Fatalf("n=%d: a majority of %d cannot be reached", n, Majority(n))
		}
	}
	// The same, on sets: pick two random sets of at least a majority.
	f := func(seed uint64, n8 uint8) bool {
		n := int(n8)%MaxVoters + 1
		rnd := rand.New(rand.NewPCG(seed, uint64(n)))
		a, b := randomQuorum(rnd, n), randomQuorum(rnd, n)
		return a&b != 0
	}
	if err := quick.Check(f, &quick.Config{MaxCount: 5000}); err != nil {
		t.Fatal(err)
	}
}

// randomQuorum returns a random set (bit i: voter i) of at least a majority
// of n voters.
func randomQuorum(rnd *rand.Rand, n int) uint64 {
	size := Majority(n) + rnd.IntN(n-Majority(n)+1)
	var set uint64
	for _, v := range rnd.Perm(n)[:size] {
		set |= 1 << uint(v)
	}
	return set
}

// TestPropertyTalliesNeverSayBoth feeds tallies random replies (grants,
// refusals, failures, duplicates, voters out of range, replies after the
// end) and checks at every step: done means exactly one outcome; an accepted
// outcome rests on a majority of distinct voters that said yes; a refused one
// on more than n-majority that said no; and an outcome never changes once
// reached.
func TestPropertyTalliesNeverSayBoth(t *testing.T) {
	f := func(seed uint64, n8 uint8) bool {
		n := int(n8)%MaxVoters + 1
		rnd := rand.New(rand.NewPCG(seed, 7))
		const ballot = 100
		pt := NewPrepareTally(n, ballot, 1)
		at := NewAcceptTally(n, ballot, 1)
		var yes, no uint64 // distinct voters, as first heard
		var seen uint64
		var pDone, aDone, pWas, aWas bool
		for range 3 * n {
			v := rnd.IntN(n+4) - 2 // a few out of range
			kind := rnd.IntN(3)
			b := uint64(ballot)
			if kind == 1 {
				b = ballot + 1 + rnd.Uint64N(5)
			}
			first := v >= 0 && v < n && seen&(1<<uint(v)) == 0
			switch kind {
			case 0, 1:
				pt.Add(v, Promise{Ballot: b})
				at.Add(v, Accepted{Ballot: b, Slot: 1})
			case 2:
				pt.Fail(v)
				at.Fail(v)
			}
			if first && !pDone {
				seen |= 1 << uint(v)
				if kind == 0 {
					yes |= 1 << uint(v)
				} else {
					no |= 1 << uint(v)
				}
			}
			pr, ar := pt.Result(), at.Result()
			refusedP := pt.Done() && !pr.Granted
			refusedA := at.Done() && !ar.Accepted
			if pr.Granted && refusedP || ar.Accepted && refusedA {
				return false
			}
			if pr.Granted != ar.Accepted || pt.Done() != at.Done() {
				return false // the two tallies count alike
			}
			if pr.Granted && bits.OnesCount64(yes) < Majority(n) {
				return false
			}
			if refusedP && bits.OnesCount64(no) <= n-Majority(n) {
				return false
			}
			if pDone && (pr.Granted != pWas) || aDone && (ar.Accepted != aWas) {
				return false // the outcome changed after it was reached
			}
			if pt.Done() && !pDone {
				pDone, pWas = true, pr.Granted
			}
			if at.Done() && !aDone {
				aDone, aWas = true, ar.Accepted
			}
		}
		return true
	}
	if err := quick.Check(f, &quick.Config{MaxCount: 3000}); err != nil {
		t.Fatal(err)
	}
}
