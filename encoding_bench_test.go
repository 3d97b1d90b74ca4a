package paxos

import (
	"encoding/json"
	"testing"
)

// benchProposal is the benchmarks' message: a Proposal with a 128-byte
// value, as recorded in a RecordedLog.
func benchProposal() *Proposal {
	v := make([]byte, 128)
	for i := range v {
		v[i] = byte(i)
	}
	return &Proposal{ID: 1 << 40, Value: v, Slot: 1 << 20, Offset: 3, Chosen: 1<<20 - 1}
}

func BenchmarkProposalEncode(b *testing.B) {
	p := benchProposal()
	b.Run("binary-append", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			buf, _ = p.AppendBinary(buf[:0])
		}
		b.ReportMetric(float64(len(buf)), "bytes/msg")
	})
	b.Run("binary-marshal", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			buf, _ = p.MarshalBinary()
		}
		b.ReportMetric(float64(len(buf)), "bytes/msg")
	})
	b.Run("json", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			buf, _ = json.Marshal(p)
		}
		b.ReportMetric(float64(len(buf)), "bytes/msg")
	})
}

func BenchmarkProposalDecode(b *testing.B) {
	p := benchProposal()
	bin, _ := p.MarshalBinary()
	js, _ := json.Marshal(p)
	b.Run("binary", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var got Proposal
			if err := got.UnmarshalBinary(bin); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(bin)), "bytes/msg")
	})
	b.Run("json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var got Proposal
			if err := json.Unmarshal(js, &got); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(js)), "bytes/msg")
	})
}
