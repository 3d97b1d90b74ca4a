package cluster

import (
	"context"
	"fmt"
	"strings"
)

// NoDiscovery is a static list of members: Start adds Peers to the
// Membership once and then waits for its context to end. Nothing ever
// marks a static peer as left or removes it.
type NoDiscovery struct {
	// Peers are the RPC addresses of the members ("host:port"). Surrounding
	// spaces are trimmed; a peer listed twice is one member (the Membership is
	// a set). An empty list or an empty entry is an ErrInvalidConfig.
	Peers []string `json:"peers" yaml:"peers"`
}

// Validate reports whether the list can be used; see Peers.
func (n *NoDiscovery) Validate() error {
	_, err := n.peers()
	return err
}

// peers returns the trimmed peers, or an error naming the first bad entry.
func (n *NoDiscovery) peers() ([]string, error) {
	if len(n.Peers) == 0 {
		return nil, fmt.Errorf("%w: NoDiscovery.Peers is empty", ErrInvalidConfig)
	}
	peers := make([]string, len(n.Peers))
	for i, p := range n.Peers {
		peers[i] = strings.TrimSpace(p)
		if peers[i] == "" {
			return nil, fmt.Errorf("%w: NoDiscovery.Peers[%d] is empty (%q)", ErrInvalidConfig, i, p)
		}
	}
	return peers, nil
}

// Start adds the peers to membership and waits for ctx to end; it returns
// nil then, or an error at once if the list is invalid.
func (n *NoDiscovery) Start(ctx context.Context, membership *Membership) error {
	if membership == nil {
		return ErrNilMembership
	}
	peers, err := n.peers()
	if err != nil {
		return err
	}
	membership.Add(peers)
	<-ctx.Done()
	return nil
}
