package cluster

import (
	"context"
	"errors"
	"log/slog"
)

// Discovery fills a Membership with the members it finds. *paxos.Paxos,
// *paxos.Observer and *paxos.MultiAcceptorClient also satisfy it: they read
// the Membership instead of filling it, and run alongside the discoveries.
type Discovery interface {
	// Start runs the discovery until ctx ends and then returns nil, or
	// returns an error as soon as the discovery cannot go on. It must leave
	// nothing running once it has returned.
	Start(ctx context.Context, membership *Membership) error
}

var (
	// ErrInvalidConfig is wrapped by every error about a bad discovery
	// setting; the message names the field and the bad value.
	ErrInvalidConfig = errors.New("cluster: invalid config")
	// ErrNoDiscovery is returned by Config.Start and Config.Validate when no
	// discovery is set.
	ErrNoDiscovery = errors.New("cluster: no discovery configured")
	// ErrSeveralDiscoveries is returned by Config.Start and Config.Validate
	// when more than one discovery is set.
	ErrSeveralDiscoveries = errors.New("cluster: more than one discovery configured")
	// ErrNilMembership is returned by a discovery started without a
	// Membership to fill.
	ErrNilMembership = errors.New("cluster: nil membership")
	// ErrJoinFailed is returned by GossipDiscovery.Start when it could not
	// reach any join address before its JoinTimeout.
	ErrJoinFailed = errors.New("cluster: gossip join failed")
)

// loggerOrDiscard returns l, or a logger that drops everything when l is
// nil: the package is silent unless the caller hands it a logger.
func loggerOrDiscard(l *slog.Logger) *slog.Logger {
	if l != nil {
		return l
	}
	return slog.New(slog.DiscardHandler)
}
