package cluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
)

// gossipMetaVersion is the version of the node metadata format below.
const gossipMetaVersion = 1

// gossipMeta is what every member gossips about itself: a small JSON object
// such as {"v":1,"rpc":"10.0.0.7:9000"}. Readers ignore fields they do not
// know, so later versions may add some.
type gossipMeta struct {
	Version int    `json:"v"`
	RPC     string `json:"rpc"`
}

// errNoRPCAddress explains why a member is ignored.
var errNoRPCAddress = errors.New("cluster: gossip metadata carries no RPC address")

// encodeGossipMeta returns the metadata for a member whose RPC server listens
// on rpc.
func encodeGossipMeta(rpc string) ([]byte, error) {
	return json.Marshal(gossipMeta{Version: gossipMetaVersion, RPC: rpc})
}

// decodeGossipMeta returns the RPC address in a member's metadata.
func decodeGossipMeta(b []byte) (string, error) {
	var meta gossipMeta
	if err := json.Unmarshal(b, &meta); err != nil {
		return "", fmt.Errorf("%w: %v", errNoRPCAddress, err)
	}
	if _, _, err := splitHostPort(meta.RPC, false, false); err != nil {
		return "", fmt.Errorf("%w: %v", errNoRPCAddress, err)
	}
	return meta.RPC, nil
}

// metaDelegate hands memberlist this member's metadata; the rest of
// memberlist.Delegate (user messages and state exchange) is unused.
type metaDelegate struct {
	meta []byte
}

func (d metaDelegate) NodeMeta(limit int) []byte {
	if len(d.meta) > limit {
		// Validate keeps RPC addresses far below memberlist's limit, so this
		// is unreachable; memberlist would panic on longer metadata.
		return nil
	}
	return d.meta
}
func (metaDelegate) NotifyMsg([]byte)                           {}
func (metaDelegate) GetBroadcasts(overhead, limit int) [][]byte { return nil }
func (metaDelegate) LocalState(join bool) []byte                { return nil }
func (metaDelegate) MergeRemoteState(buf []byte, join bool)     {}

// gossipEvents turns memberlist's node events into Membership changes keyed
// by RPC address. memberlist calls it with its own locks held, which is fine:
// Membership never blocks and gossipEvents never calls back into memberlist.
type gossipEvents struct {
	membership  *Membership
	log         *slog.Logger
	removeAfter time.Duration

	mu      sync.Mutex
	stopped bool                   // set by stop: no change after Start returned
	nodes   map[string]string      // alive node name → its RPC address
	removal map[string]*time.Timer // RPC address → pending Remove
}

func newGossipEvents(m *Membership, log *slog.Logger, removeAfter time.Duration) *gossipEvents {
	return &gossipEvents{
		membership:  m,
		log:         log,
		removeAfter: removeAfter,
		nodes:       map[string]string{},
		removal:     map[string]*time.Timer{},
	}
}

// NotifyJoin adds the member's RPC address.
func (e *gossipEvents) NotifyJoin(n *memberlist.Node) { e.alive(n) }

// NotifyUpdate follows a member whose metadata changed.
func (e *gossipEvents) NotifyUpdate(n *memberlist.Node) { e.alive(n) }

// NotifyLeave marks the member's RPC address as left (failure or leave).
func (e *gossipEvents) NotifyLeave(n *memberlist.Node) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.stopped {
		e.forgetLocked(n.Name)
	}
}

// alive records that node n is alive with the metadata it carries now. A
// member whose metadata has no usable RPC address is logged and ignored (and
// forgotten, if it had one before): gossip can carry members of other
// programs, and an address we cannot dial is no member for paxos.
func (e *gossipEvents) alive(n *memberlist.Node) {
	rpc, err := decodeGossipMeta(n.Meta)

	e.mu.Lock()
	defer e.mu.Unlock()
	if e.stopped {
		return
	}
	if err != nil {
		e.log.Warn("cluster: ignoring gossip member without an RPC address",
			"node", n.Name, "gossip_addr", n.Address(), "error", err)
		e.forgetLocked(n.Name)
		return
	}
	if old, known := e.nodes[n.Name]; known && old != rpc {
		delete(e.nodes, n.Name)
		e.leftLocked(old)
	}
	e.nodes[n.Name] = rpc
	if t := e.removal[rpc]; t != nil {
		t.Stop()
		delete(e.removal, rpc)
	}
	e.membership.Add([]string{rpc})
}

// forgetLocked drops a node that is no longer alive.
func (e *gossipEvents) forgetLocked(name string) {
	rpc, known := e.nodes[name]
	if !known {
		return
	}
	delete(e.nodes, name)
	e.leftLocked(rpc)
}

// leftLocked marks rpc as left unless another alive node still serves it
// (two nodes advertising one address is a misconfiguration, but the address
// stays reachable while either lives), and schedules its removal if asked to.
func (e *gossipEvents) leftLocked(rpc string) {
	for _, other := range e.nodes {
		if other == rpc {
			return
		}
	}
	e.membership.Left([]string{rpc})
	if e.removeAfter <= 0 || e.removal[rpc] != nil {
		return
	}
	var t *time.Timer
	t = time.AfterFunc(e.removeAfter, func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		// A rejoin stops the timer, but one already firing still runs:
		// check that this removal is still the pending one.
		if e.stopped || e.removal[rpc] != t {
			return
		}
		delete(e.removal, rpc)
		e.membership.Remove([]string{rpc})
	})
	e.removal[rpc] = t
}

// stop ends all changes: once it returns, no event and no timer touches
// the Membership again.
func (e *gossipEvents) stop() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.stopped = true
	for rpc, t := range e.removal {
		t.Stop()
		delete(e.removal, rpc)
	}
}
