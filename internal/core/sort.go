package core

import (
	"cmp"
	"slices"
)

func sortEntries(es []Entry) {
	slices.SortFunc(es, func(a, b Entry) int { return cmp.Compare(a.Slot, b.Slot) })
}

func sortDue(d []DueCmd) {
	slices.SortFunc(d, func(a, b DueCmd) int { return cmp.Compare(a.Seq, b.Seq) })
}
