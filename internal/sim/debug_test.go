package sim

import (
	"strings"
	"testing"
)

func TestNoFaults(t *testing.T) {
	cfg := Config{Seed: 7, Nodes: 3, Clients: 4, Ops: 20, Trace: true, noFaults: true}
	r := Run(cfg)
	t.Logf("%s", summary(r))
	if r.Violation != "" || r.OK != 20 {
		t.Logf("trace:\n%s", strings.Join(r.Trace, "\n"))
		t.Fatalf("violation %q ok=%d", r.Violation, r.OK)
	}
}
