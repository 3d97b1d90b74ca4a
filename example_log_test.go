package paxos_test

import (
	"fmt"
	"os"

	"github.com/jonboulle/clockwork"

	"github.com/mjpitz/myago/paxos"
)

func ExampleMemory() {
	log := &paxos.Memory{} // the zero value is ready
	recorded := log.WithPrefix("recorded")

	for id, v := range []string{"a", "b", "c"} {
		if err := recorded.Record(uint64(id+1), &paxos.Proposal{ID: uint64(id + 1), Value: []byte(v)}); err != nil {
			panic(err)
		}
	}

	_ = recorded.Range(2, 3, paxos.Proposal{}, func(msg interface{}) error {
		p := msg.(*paxos.Proposal)
		fmt.Printf("%d: %s\n", p.ID, p.Value)
		return nil
	})

	var last paxos.Proposal
	_ = recorded.Last(&last)
	fmt.Println("last:", last.ID)

	// The parent view does not see the records of its children.
	var none paxos.Proposal
	_ = log.Last(&none)
	fmt.Println("parent:", none.ID)
	// Output:
	// 2: b
	// 3: c
	// last: 3
	// parent: 0
}

func ExampleOpenBadgerLog() {
	dir, err := os.MkdirTemp("", "paxos-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	log, err := paxos.OpenBadgerLog(dir, nil) // badger behind a journal
	if err != nil {
		panic(err)
	}
	// Record returns once the record is in the journal, synced.
	if err := log.WithPrefix("accepted").Record(1, &paxos.Proposal{ID: 1, Value: []byte("a")}); err != nil {
		panic(err)
	}
	if err := log.Close(); err != nil { // closes the journal and the DB
		panic(err)
	}

	// Opening again replays whatever badger had not synced yet.
	log, err = paxos.OpenBadgerLog(dir, nil)
	if err != nil {
		panic(err)
	}
	defer log.Close()
	var p paxos.Proposal
	if err := log.WithPrefix("accepted").Last(&p); err != nil {
		panic(err)
	}
	fmt.Printf("%d: %s\n", p.ID, p.Value)
	// Output:
	// 1: a
}

func ExampleOpenBadger() {
	dir, err := os.MkdirTemp("", "paxos-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	db, err := paxos.OpenBadger(dir, nil) // SyncWrites on; a nil logger keeps badger quiet
	if err != nil {
		panic(err)
	}
	defer db.Close()

	log := &paxos.Badger{DB: db}
	promises := log.WithPrefix("promise")
	// Record returns once the record is synced to disk.
	if err := promises.Record(0, &paxos.Request{ID: 0x17c96370c0901}); err != nil {
		panic(err)
	}
	var promised paxos.Request
	if err := promises.Last(&promised); err != nil {
		panic(err)
	}
	fmt.Printf("%#x\n", promised.ID)
	// Output: 0x17c96370c0901
}

func ExampleServerIDGenerator() {
	clock := clockwork.NewFakeClockAt(epoch) // tests use a fake clock; use clockwork.NewRealClock() otherwise
	gen := paxos.ServerIDGenerator(0x2a, clock)

	a, _ := gen.Next()
	b, _ := gen.Next() // same millisecond: the counter moves on anyway
	c, _ := gen.(paxos.NextAbover).NextAbove(0x00017c96370c1000)
	fmt.Printf("%#x\n%#x\n%#x\n", a, b, c)
	// Output:
	// 0x17c96370c092a
	// 0x17c96370c0a2a
	// 0x17c96370c102a
}
