package cluster

import (
	"context"
	"errors"
	"sync"
)

// Option configures a Cluster.
type Option func(*Cluster)

// WithDiscovery adds a discovery to the cluster. It may be given several
// times: Start runs every discovery given, all filling the same Membership.
// A nil discovery is ignored.
func WithDiscovery(d Discovery) Option {
	return func(c *Cluster) {
		if d != nil {
			c.discoveries = append(c.discoveries, d)
		}
	}
}

// Cluster ties discoveries to the Membership they fill. Create one with New.
type Cluster struct {
	membership  *Membership
	discoveries []Discovery
}

// New returns a Cluster with an empty Membership and the discoveries given
// by opts. A Cluster without discoveries is valid: its Membership is then
// filled by hand.
func New(opts ...Option) *Cluster {
	c := &Cluster{membership: new(Membership)}
	for _, opt := range opts {
		opt(c)
	}
	return c
}

// Membership returns the Membership the discoveries fill; hand it to
// paxos's Start.
func (c *Cluster) Membership() *Membership {
	return c.membership
}

// Start runs every discovery until ctx ends, then returns nil. If one
// discovery fails, Start stops the others and returns that first error. In
// both cases every discovery has returned by the time Start does. A
// discovery that returns nil early simply stops; the others go on. A
// discovery that returns ctx's own error once ctx has ended is not failing:
// it is stopping.
func (c *Cluster) Start(parent context.Context) error {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()

	var (
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	for _, d := range c.discoveries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := d.Start(ctx, c.membership)
			if err != nil && !(parent.Err() != nil && errors.Is(err, parent.Err())) {
				errOnce.Do(func() {
					firstErr = err
					cancel()
				})
			}
		}()
	}
	<-ctx.Done()
	wg.Wait()
	return firstErr
}
