package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"
)

// Default timings of DNSDiscovery.
const (
	DefaultResolveInterval = 30 * time.Second
	DefaultLookupTimeout   = 5 * time.Second
)

// Resolver is the part of *net.Resolver that DNSDiscovery uses; tests and
// users with their own DNS client supply another.
type Resolver interface {
	LookupHost(ctx context.Context, host string) (addrs []string, err error)
	LookupSRV(ctx context.Context, service, proto, name string) (cname string, addrs []*net.SRV, err error)
}

var _ Resolver = (*net.Resolver)(nil)

// DNSDiscovery finds members by resolving a DNS name now and then every
// ResolveInterval. An address that appears in an answer is added; one that
// disappears is marked as left; one that stays absent for RemoveAfter is
// removed (only when RemoveAfter is set). A failed lookup, "not found"
// included, changes nothing: it is logged and the next lookup tries again,
// so a DNS outage never empties the Membership.
type DNSDiscovery struct {
	// Name is the DNS name to resolve. Required.
	Name string `json:"name" yaml:"name"`
	// Port is the RPC port of every member. With a Port, Name is resolved
	// to host addresses (A/AAAA) and each member is "address:Port". Without
	// one (0), Name is resolved as an SRV record and each member is
	// "target:port" from the record (the target's trailing dot dropped).
	Port int `json:"port,omitempty" yaml:"port,omitempty"`
	// ResolveInterval is the time between lookups; zero means
	// DefaultResolveInterval, negative is an ErrInvalidConfig.
	ResolveInterval time.Duration `json:"resolveInterval,omitempty" yaml:"resolveInterval,omitempty"`
	// LookupTimeout bounds each lookup; zero means DefaultLookupTimeout,
	// negative is an ErrInvalidConfig.
	LookupTimeout time.Duration `json:"lookupTimeout,omitempty" yaml:"lookupTimeout,omitempty"`
	// RemoveAfter, when positive, removes a member once it has been absent
	// from the answers for at least this long (checked at each lookup, so
	// never before the second lookup that misses it). Zero never removes:
	// removing members is the user's decision, and paxos's quorum does not
	// follow it anyway. Negative is an ErrInvalidConfig.
	RemoveAfter time.Duration `json:"removeAfter,omitempty" yaml:"removeAfter,omitempty"`
	// Resolver answers the lookups; nil means net.DefaultResolver.
	Resolver Resolver `json:"-" yaml:"-"`
	// Logger receives lookup failures and membership changes; nil is silent.
	Logger *slog.Logger `json:"-" yaml:"-"`
}

// Validate reports the first invalid field.
func (d *DNSDiscovery) Validate() error {
	switch {
	case strings.TrimSpace(d.Name) == "":
		return fmt.Errorf("%w: DNSDiscovery.Name is empty", ErrInvalidConfig)
	case d.Port < 0 || d.Port > 65535:
		return fmt.Errorf("%w: DNSDiscovery.Port %d is out of range 0-65535", ErrInvalidConfig, d.Port)
	case d.ResolveInterval < 0:
		return fmt.Errorf("%w: DNSDiscovery.ResolveInterval %v is negative", ErrInvalidConfig, d.ResolveInterval)
	case d.LookupTimeout < 0:
		return fmt.Errorf("%w: DNSDiscovery.LookupTimeout %v is negative", ErrInvalidConfig, d.LookupTimeout)
	case d.RemoveAfter < 0:
		return fmt.Errorf("%w: DNSDiscovery.RemoveAfter %v is negative", ErrInvalidConfig, d.RemoveAfter)
	}
	return nil
}

// Start looks Name up at once and then every ResolveInterval until ctx ends;
// it returns nil then, or an error at once if the settings are invalid.
func (d *DNSDiscovery) Start(ctx context.Context, membership *Membership) error {
	if membership == nil {
		return ErrNilMembership
	}
	if err := d.Validate(); err != nil {
		return err
	}
	interval := orDefault(d.ResolveInterval, DefaultResolveInterval)
	log := loggerOrDiscard(d.Logger).With("dns_name", d.Name)
	tracker := dnsTracker{present: map[string]bool{}, gone: map[string]time.Time{}}

	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		members, err := d.lookup(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			log.Warn("cluster: dns lookup failed; membership unchanged", "error", err)
		default:
			add, left, remove := tracker.apply(members, time.Now(), d.RemoveAfter)
			membership.Add(add)
			membership.Left(left)
			membership.Remove(remove)
			if len(add)+len(left)+len(remove) > 0 {
				log.Debug("cluster: dns membership changed", "added", add, "left", left, "removed", remove)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}

// lookup resolves Name into member addresses.
func (d *DNSDiscovery) lookup(ctx context.Context) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, orDefault(d.LookupTimeout, DefaultLookupTimeout))
	defer cancel()
	var r Resolver = net.DefaultResolver
	if d.Resolver != nil {
		r = d.Resolver
	}

	if d.Port != 0 {
		hosts, err := r.LookupHost(ctx, d.Name)
		if err != nil {
			return nil, fmt.Errorf("cluster: looking up host %q: %w", d.Name, err)
		}
		members := make([]string, 0, len(hosts))
		for _, h := range hosts {
			if h != "" {
				members = append(members, net.JoinHostPort(h, strconv.Itoa(d.Port)))
			}
		}
		return members, nil
	}

	_, records, err := r.LookupSRV(ctx, "", "", d.Name)
	if err != nil {
		return nil, fmt.Errorf("cluster: looking up SRV %q: %w", d.Name, err)
	}
	members := make([]string, 0, len(records))
	for _, rec := range records {
		// A target of "." means "no service here" (RFC 2782); port 0 cannot
		// be dialled.
		if rec == nil || rec.Port == 0 {
			continue
		}
		target := strings.TrimSuffix(rec.Target, ".")
		if target == "" {
			continue
		}
		members = append(members, net.JoinHostPort(target, strconv.Itoa(int(rec.Port))))
	}
	return members, nil
}

// dnsTracker turns successive answers into membership changes.
type dnsTracker struct {
	present map[string]bool      // addresses in the last answer
	gone    map[string]time.Time // addresses marked left, and since when
}

// apply records an answer received at now and returns what to add, mark as
// left and remove. removeAfter <= 0 never removes.
func (t *dnsTracker) apply(answer []string, now time.Time, removeAfter time.Duration) (add, left, remove []string) {
	next := make(map[string]bool, len(answer))
	for _, a := range answer {
		next[a] = true
	}
	// Removal first, so that an address marked left in this round waits at
	// least until the next one.
	for a, since := range t.gone {
		if removeAfter > 0 && !next[a] && now.Sub(since) >= removeAfter {
			remove = append(remove, a)
			delete(t.gone, a)
		}
	}
	for a := range next {
		if !t.present[a] {
			add = append(add, a)
			delete(t.gone, a)
		}
	}
	for a := range t.present {
		if !next[a] {
			left = append(left, a)
			t.gone[a] = now
		}
	}
	t.present = next
	return add, left, remove
}

// orDefault returns d, or def when d is zero.
func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}
