package consensus

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestSystemsCommit starts every wired system, durable and not, waits for
// its first commit, makes concurrent proposals and closes it without leaking
// (TestMain checks goroutines). The in-process systems refuse durability.
func TestSystemsCommit(t *testing.T) {
	for _, name := range Names() {
		for _, durable := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/durable=%v", name, durable), func(t *testing.T) {
				sys, err := Lookup(name)
				if err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
				defer cancel()
				c, err := sys.Start(ctx, Config{Members: 3, Durable: durable, Dir: t.TempDir()})
				if inProcess := name == NamePaxosInProcess || name == NameHashicorpRaftInmem; inProcess && durable {
					if !errors.Is(err, errInProcessDurable) {
						t.Fatalf("durable in-process Start: got %v, want errInProcessDurable", err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				defer func() {
					if err := c.Close(); err != nil {
						t.Errorf("Close: %v", err)
					}
				}()
				if err := WaitReady(ctx, c, time.Second); err != nil {
					t.Fatal(err)
				}
				var wg sync.WaitGroup
				errs := make(chan error, 8*25)
				for range 8 {
					wg.Go(func() {
						for i := range 25 {
							if err := c.Propose(ctx, fmt.Appendf(nil, "value-%d", i)); err != nil {
								errs <- err
							}
						}
					})
				}
				wg.Wait()
				close(errs)
				for err := range errs {
					t.Errorf("Propose: %v", err)
				}
			})
		}
	}
}
