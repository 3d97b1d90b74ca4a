package paxos

import (
	"errors"
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

// BenchmarkMemoryRecordBatch records batches of 32 Proposals (a learner's
// delivery under load); one op is one record.
func BenchmarkMemoryRecordBatch(b *testing.B) {
	const batch = 32
	m := &Memory{}
	p := benchProposal()
	ids := make([]uint64, batch)
	msgs := make([]interface{}, batch)
	for i := range msgs {
		msgs[i] = p
	}
	b.ReportAllocs()
	next := uint64(0)
	for i := 0; i < b.N; i += batch {
		for j := range ids {
			next++
			ids[j] = next
		}
		if err := m.RecordBatch(ids, msgs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkMemoryRange counts one op per record visited, over a log of
// 10,000 Proposals ranged from end to end.
func BenchmarkMemoryRange(b *testing.B) {
	benchRange(b, &Memory{})
}

// benchRange fills l with 10,000 Proposals, then ranges over them from end
// to end until b.N records were visited, and reports records/s.
func benchRange(b *testing.B, l BatchLog) {
	const n = 10_000
	p := benchProposal()
	ids := make([]uint64, n)
	msgs := make([]interface{}, n)
	for i := range ids {
		ids[i], msgs[i] = uint64(i+1), p
	}
	for i := 0; i < n; i += 1000 {
		if err := l.RecordBatch(ids[i:i+1000], msgs[i:i+1000]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	visited := 0
	for visited < b.N {
		err := l.Range(1, n, Proposal{}, func(interface{}) error {
			visited++
			if visited == b.N {
				return errBenchDone
			}
			return nil
		})
		if err != nil && !errors.Is(err, errBenchDone) {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
