package consensus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
)

// ErrUnknownSystem is returned by Lookup for a name it does not know.
var ErrUnknownSystem = errors.New("consensus: unknown system")

// System starts clusters of one consensus implementation.
type System interface {
	// Name is the name the driver's -system flag selects it by.
	Name() string
	// Start brings up a cluster described by cfg.
	Start(ctx context.Context, cfg Config) (Cluster, error)
}

// Cluster is a running in-process cluster.
type Cluster interface {
	// Propose replicates value and returns once it is committed and applied.
	// The cluster may keep value; callers pass a fresh slice each time.
	Propose(ctx context.Context, value []byte) error
	// Close stops every member and removes nothing from Config.Dir (the
	// caller owns it).
	Close() error
}

// Config describes the cluster a System starts.
type Config struct {
	// Members is the number of voting members (>= 1).
	Members int
	// Durable asks for a log that is synced to disk before a value counts
	// as accepted by a member.
	Durable bool
	// Dir is an existing directory the members make their data directories
	// in; required when Durable.
	Dir string
	// Logger receives the systems' diagnostics; nil discards them.
	Logger *slog.Logger
	// PaxosRecordAll makes every paxos member keep every value in its
	// recorded log (a Badger database of its own when durable, Memory
	// otherwise). By default paxos members apply to a last-record log, the
	// counterpart of the raft adapters' counting state machines.
	PaxosRecordAll bool
}

// Validate reports the first invalid field of cfg.
func (cfg Config) Validate() error {
	if cfg.Members < 1 {
		return fmt.Errorf("consensus: Members must be >= 1, got %d", cfg.Members)
	}
	if cfg.Durable && cfg.Dir == "" {
		return errors.New("consensus: Dir is required when Durable")
	}
	return nil
}

func (cfg Config) logger() *slog.Logger {
	if cfg.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return cfg.Logger
}

// Names lists the systems Lookup knows, consensus systems first, then the
// physical floors.
func Names() []string {
	return []string{NamePaxos, NameEtcdRaft, NameHashicorpRaft, NamePaxosInProcess, NameHashicorpRaftInmem, NameFloorFsync, NameFloorDirect, NameFloorRTT}
}

// Lookup returns the system called name.
func Lookup(name string) (System, error) {
	switch name {
	case NamePaxos:
		return Paxos{}, nil
	case NameEtcdRaft:
		return EtcdRaft{}, nil
	case NameHashicorpRaft:
		return HashicorpRaft{}, nil
	case NamePaxosInProcess:
		return PaxosInProcess{}, nil
	case NameHashicorpRaftInmem:
		return HashicorpRaftInmem{}, nil
	case NameFloorFsync:
		return FloorFsync{}, nil
	case NameFloorDirect:
		return FloorDirect{}, nil
	case NameFloorRTT:
		return FloorRTT{}, nil
	}
	return nil, fmt.Errorf("%w: %q (known: %v)", ErrUnknownSystem, name, Names())
}
