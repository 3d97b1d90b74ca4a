package paxos

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// badgerLike stands for any Log that is not a Memory.
type badgerLike struct{ Log }

func TestBatchHoldDefaults(t *testing.T) {
	mem := &Memory{}
	for _, tc := range []struct {
		name     string
		accepted Log
		set, got int
	}{
		{"a Memory acceptor: one round", mem, 0, DefaultBatchHoldPercent},
		{"another Log: one round", badgerLike{mem}, 0, DefaultBatchHoldPercent},
		{"set: kept", mem, 50, 50},
		{"negative: off", badgerLike{mem}, -1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Config{AcceptedLog: tc.accepted, BatchHoldPercent: tc.set}.withDefaults()
			require.Equal(t, tc.got, c.coreConfig().Leader.BatchHoldPercent)
		})
	}
}
