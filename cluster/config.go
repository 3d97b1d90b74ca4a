package cluster

import (
	"context"
	"fmt"
)

// Config chooses one discovery, for example from a configuration file:
// exactly one of its fields must be set.
//
// The fields are pointers so that "set" means non-nil, and an empty but set
// discovery (say NoDiscovery with no peers) is reported as the invalid
// setting it is rather than silently counted as absent.
type Config struct {
	NoDiscovery     *NoDiscovery     `json:"static,omitempty" yaml:"static,omitempty"`
	DNSDiscovery    *DNSDiscovery    `json:"dns,omitempty" yaml:"dns,omitempty"`
	GossipDiscovery *GossipDiscovery `json:"gossip,omitempty" yaml:"gossip,omitempty"`
}

// Validate returns ErrNoDiscovery or ErrSeveralDiscoveries unless exactly
// one discovery is set, and otherwise that discovery's own validation error.
func (c *Config) Validate() error {
	d, err := c.discovery()
	if err != nil {
		return err
	}
	return d.Validate()
}

// Start runs the discovery that is set (see Validate for the errors).
func (c *Config) Start(ctx context.Context, membership *Membership) error {
	d, err := c.discovery()
	if err != nil {
		return err
	}
	return d.Start(ctx, membership)
}

// validatingDiscovery is what every discovery of a Config offers.
type validatingDiscovery interface {
	Discovery
	Validate() error
}

// discovery returns the one discovery that is set.
func (c *Config) discovery() (validatingDiscovery, error) {
	var set []validatingDiscovery
	if c.NoDiscovery != nil {
		set = append(set, c.NoDiscovery)
	}
	if c.DNSDiscovery != nil {
		set = append(set, c.DNSDiscovery)
	}
	if c.GossipDiscovery != nil {
		set = append(set, c.GossipDiscovery)
	}
	switch len(set) {
	case 0:
		return nil, ErrNoDiscovery
	case 1:
		return set[0], nil
	default:
		return nil, fmt.Errorf("%w: %d are set", ErrSeveralDiscoveries, len(set))
	}
}
