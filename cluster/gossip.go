package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/memberlist"
)

// Defaults of GossipDiscovery.
const (
	DefaultGossipBindAddress = "0.0.0.0:7946"
	DefaultJoinTimeout       = 30 * time.Second
	DefaultLeaveTimeout      = 5 * time.Second
)

// maxRPCAddressBytes keeps the node metadata well under memberlist's
// MetaMaxSize (512 bytes), beyond which memberlist panics.
const maxRPCAddressBytes = 256

// Join retries back off from the first to the last delay, doubling.
const (
	joinRetryFirstDelay = 100 * time.Millisecond
	joinRetryMaxDelay   = 2 * time.Second
)

// GossipDiscovery finds members with hashicorp/memberlist (SWIM gossip over
// TCP and UDP). Every member gossips the address of its RPC server in its
// node metadata, so the Membership lists RPC addresses, never gossip
// addresses.
//
// A member that joins, or comes back, is added; one that fails or leaves is
// marked as left. Members are removed only when RemoveAfter is set.
// Members whose metadata carries no RPC address (other programs sharing the
// gossip pool, older or broken members) are ignored and logged at Warn.
//
// Start keeps trying to join until one JoinAddress answers, another member
// joins it, or JoinTimeout passes (then it fails with ErrJoinFailed). When
// its context ends it leaves gracefully (unless SkipLeave) and shuts
// memberlist down.
type GossipDiscovery struct {
	// JoinAddress lists, separated by commas, gossip addresses ("host:port")
	// of members to join through; one that answers is enough. Empty starts a
	// new cluster that others join.
	JoinAddress string `json:"joinAddress,omitempty" yaml:"joinAddress,omitempty"`
	// BindAddress is the "ip:port" the gossip listeners (TCP and UDP) bind;
	// empty means DefaultGossipBindAddress, an empty ip all interfaces, and
	// port 0 a port the system chooses (see OnListen).
	BindAddress string `json:"bindAddress,omitempty" yaml:"bindAddress,omitempty"`
	// AdvertiseAddress is the "ip:port" other members use to reach this
	// member's gossip, when it differs from what it binds (NAT, containers).
	// Empty lets memberlist choose from BindAddress.
	AdvertiseAddress string `json:"advertiseAddress,omitempty" yaml:"advertiseAddress,omitempty"`
	// RPCAddress is this member's RPC server address ("host:port") as the
	// other members must dial it; it is what their Memberships list.
	// Required.
	RPCAddress string `json:"rpcAddress" yaml:"rpcAddress"`
	// NodeName is this member's unique gossip name; empty means RPCAddress.
	// A member that restarts should keep its name.
	NodeName string `json:"nodeName,omitempty" yaml:"nodeName,omitempty"`
	// JoinTimeout bounds how long Start tries to join; zero means
	// DefaultJoinTimeout.
	JoinTimeout time.Duration `json:"joinTimeout,omitempty" yaml:"joinTimeout,omitempty"`
	// LeaveTimeout bounds how long a graceful leave waits for its message to
	// go out; zero means DefaultLeaveTimeout.
	LeaveTimeout time.Duration `json:"leaveTimeout,omitempty" yaml:"leaveTimeout,omitempty"`
	// SkipLeave shuts down without announcing a leave, as a crash would: the
	// others detect the failure by probing. For members that restart at once
	// under the same name, and for tests.
	SkipLeave bool `json:"skipLeave,omitempty" yaml:"skipLeave,omitempty"`
	// RemoveAfter, when positive, removes a member that has been failed or
	// gone for this long. Zero (the default) never removes: removal is the
	// user's decision, and paxos's quorum never follows it anyway.
	RemoveAfter time.Duration `json:"removeAfter,omitempty" yaml:"removeAfter,omitempty"`
	// Configure, when set, tunes the memberlist configuration (timings,
	// encryption, labels) after the fields above are applied to
	// memberlist.DefaultLANConfig. Delegate and Events belong to the
	// discovery and are overwritten.
	Configure func(*memberlist.Config) `json:"-" yaml:"-"`
	// OnListen, when set, is called once the gossip listeners are bound,
	// before joining, with the gossip address others can join through.
	OnListen func(gossipAddress string) `json:"-" yaml:"-"`
	// Logger receives the discovery's and memberlist's logs; nil is silent.
	Logger *slog.Logger `json:"-" yaml:"-"`
}

// Validate reports the first invalid field.
func (g *GossipDiscovery) Validate() error {
	_, err := g.joinAddresses()
	if err != nil {
		return err
	}
	if g.RPCAddress == "" {
		return fmt.Errorf("%w: GossipDiscovery.RPCAddress is empty", ErrInvalidConfig)
	}
	if len(g.RPCAddress) > maxRPCAddressBytes {
		return fmt.Errorf("%w: GossipDiscovery.RPCAddress is longer than %d bytes", ErrInvalidConfig, maxRPCAddressBytes)
	}
	if _, _, err := splitHostPort(g.RPCAddress, false, false); err != nil {
		return fmt.Errorf("%w: GossipDiscovery.RPCAddress: %w", ErrInvalidConfig, err)
	}
	if g.BindAddress != "" {
		if _, _, err := splitHostPort(g.BindAddress, true, true); err != nil {
			return fmt.Errorf("%w: GossipDiscovery.BindAddress: %w", ErrInvalidConfig, err)
		}
	}
	if g.AdvertiseAddress != "" {
		host, _, err := splitHostPort(g.AdvertiseAddress, false, true)
		if err == nil && host == "" {
			err = fmt.Errorf("missing ip in %q", g.AdvertiseAddress)
		}
		if err != nil {
			return fmt.Errorf("%w: GossipDiscovery.AdvertiseAddress: %w", ErrInvalidConfig, err)
		}
	}
	for name, d := range map[string]time.Duration{
		"JoinTimeout": g.JoinTimeout, "LeaveTimeout": g.LeaveTimeout, "RemoveAfter": g.RemoveAfter,
	} {
		if d < 0 {
			return fmt.Errorf("%w: GossipDiscovery.%s %v is negative", ErrInvalidConfig, name, d)
		}
	}
	return nil
}

// joinAddresses splits and checks JoinAddress.
func (g *GossipDiscovery) joinAddresses() ([]string, error) {
	if strings.TrimSpace(g.JoinAddress) == "" {
		return nil, nil
	}
	parts := strings.Split(g.JoinAddress, ",")
	addrs := make([]string, 0, len(parts))
	for i, p := range parts {
		p = strings.TrimSpace(p)
		if _, _, err := splitHostPort(p, false, false); err != nil {
			return nil, fmt.Errorf("%w: GossipDiscovery.JoinAddress entry %d (%q): %w", ErrInvalidConfig, i, p, err)
		}
		addrs = append(addrs, p)
	}
	return addrs, nil
}

// Start runs the gossip member until ctx ends, then leaves, shuts memberlist
// down and returns nil. It returns an error at once for invalid settings or
// listeners that cannot bind, and ErrJoinFailed if no join address answered
// within JoinTimeout. A join attempt in progress when ctx ends is not
// interrupted: memberlist bounds it by its TCPTimeout.
func (g *GossipDiscovery) Start(ctx context.Context, membership *Membership) error {
	if membership == nil {
		return ErrNilMembership
	}
	if err := g.Validate(); err != nil {
		return err
	}
	join, _ := g.joinAddresses()
	log := loggerOrDiscard(g.Logger)
	events := newGossipEvents(membership, log, g.RemoveAfter)
	defer events.stop()

	conf, err := g.memberlistConfig(log, events)
	if err != nil {
		return err
	}
	ml, err := memberlist.Create(conf)
	if err != nil {
		return fmt.Errorf("cluster: starting gossip on %q: %w", conf.BindAddr, err)
	}
	local := ml.LocalNode().Address()
	log.Info("cluster: gossip started", "node", conf.Name, "gossip_addr", local, "rpc_addr", g.RPCAddress)
	if g.OnListen != nil {
		g.OnListen(local)
	}

	if err := g.join(ctx, ml, join, log); err != nil {
		_ = ml.Shutdown()
		return err
	}
	<-ctx.Done()

	if !g.SkipLeave {
		if err := ml.Leave(orDefault(g.LeaveTimeout, DefaultLeaveTimeout)); err != nil {
			log.Warn("cluster: gossip leave", "error", err)
		}
	}
	if err := ml.Shutdown(); err != nil {
		log.Warn("cluster: gossip shutdown", "error", err)
	}
	log.Info("cluster: gossip stopped", "node", conf.Name)
	return nil
}

// memberlistConfig builds the memberlist configuration of a valid g.
func (g *GossipDiscovery) memberlistConfig(log *slog.Logger, events *gossipEvents) (*memberlist.Config, error) {
	conf := memberlist.DefaultLANConfig()
	conf.Name = g.NodeName
	if conf.Name == "" {
		conf.Name = g.RPCAddress
	}
	bind := g.BindAddress
	if bind == "" {
		bind = DefaultGossipBindAddress
	}
	conf.BindAddr, conf.BindPort, _ = splitHostPort(bind, true, true)
	if conf.BindAddr == "" {
		conf.BindAddr = "0.0.0.0"
	}
	if g.AdvertiseAddress != "" {
		conf.AdvertiseAddr, conf.AdvertisePort, _ = splitHostPort(g.AdvertiseAddress, false, true)
	}
	ours := newMemberlistLogger(log)
	conf.Logger = ours
	if g.Configure != nil {
		g.Configure(conf)
		// memberlist refuses both; a hook that sets LogOutput wants it.
		if conf.LogOutput != nil && conf.Logger == ours {
			conf.Logger = nil
		}
	}
	meta, err := encodeGossipMeta(g.RPCAddress)
	if err != nil {
		return nil, fmt.Errorf("cluster: encoding gossip metadata: %w", err)
	}
	conf.Delegate = metaDelegate{meta: meta}
	conf.Events = events
	return conf, nil
}

// join tries the join addresses with capped back-off until one answers,
// another member has joined this one, JoinTimeout passes, or ctx ends (then
// it returns nil and Start shuts down as usual).
func (g *GossipDiscovery) join(ctx context.Context, ml *memberlist.Memberlist, addrs []string, log *slog.Logger) error {
	if len(addrs) == 0 {
		return nil
	}
	timeout := orDefault(g.JoinTimeout, DefaultJoinTimeout)
	deadline := time.Now().Add(timeout)
	delay := joinRetryFirstDelay
	for attempt := 1; ; attempt++ {
		n, err := ml.Join(addrs)
		switch {
		case err == nil:
			log.Info("cluster: gossip joined", "contacted", n, "members", ml.NumMembers())
			return nil
		case ml.NumMembers() > 1:
			log.Info("cluster: gossip joined by another member", "members", ml.NumMembers())
			return nil
		case ctx.Err() != nil:
			return nil
		}
		remaining := time.Until(deadline)
		if remaining <= 0 {
			return fmt.Errorf("%w: none of %q answered within %v (%d attempts): %w",
				ErrJoinFailed, g.JoinAddress, timeout, attempt, err)
		}
		log.Warn("cluster: gossip join failed; retrying", "attempt", attempt, "retry_in", min(delay, remaining), "error", err)
		t := time.NewTimer(min(delay, remaining))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		delay = min(2*delay, joinRetryMaxDelay)
	}
}

// splitHostPort parses "host:port" with a numeric port in 1-65535 (0 too
// with zeroPort) and a non-empty host; with ipOnly, the host must be an IP
// address or empty.
func splitHostPort(addr string, zeroPort, ipOnly bool) (string, int, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(portStr)
	switch {
	case err != nil || port < 0 || port > 65535 || (port == 0 && !zeroPort):
		return "", 0, fmt.Errorf("invalid port %q in %q", portStr, addr)
	case ipOnly && host != "" && net.ParseIP(host) == nil:
		return "", 0, fmt.Errorf("host %q in %q is not an IP address", host, addr)
	case !ipOnly && host == "":
		return "", 0, fmt.Errorf("missing host in %q", addr)
	}
	return host, port, nil
}
