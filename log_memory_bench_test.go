package paxos

import (
	"testing"
)

func BenchmarkMemoryRecord(b *testing.B) {
	m := &Memory{}
	p := benchProposal()
	b.ReportAllocs()
	id := uint64(0)
	for b.Loop() {
		id++
		if err := m.Record(id, p); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkMemoryRange counts one op per record visited, over a log of
// 10,000 Proposals ranged from end to end.
func BenchmarkMemoryRange(b *testing.B) {
	const n = 10_000
	m := &Memory{}
	p := benchProposal()
	for id := uint64(1); id <= n; id++ {
		if err := m.Record(id, p); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	visited := 0
	for visited < b.N {
		err := m.Range(1, n, Proposal{}, func(interface{}) error {
			visited++
			if visited == b.N {
				return errBenchDone
			}
			return nil
		})
		if err != nil && err != errBenchDone {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
