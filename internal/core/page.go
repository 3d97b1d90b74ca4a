package core

// EntryReader reads an acceptor's durable entries in ascending slot order from
// slot from on, calling fn for each until fn returns false.
type EntryReader interface {
	Entries(from uint64, fn func(e Entry) bool) error
}

// ReadPage reads the page of a granted promise: at most limit entries from
// slot from on, and whether more follow. Entries at or below chosen (the
// acceptor's watermark when it granted the promise) are marked Decided.
func ReadPage(r EntryReader, from, chosen uint64, limit int) ([]Entry, bool, error) {
	if limit < 1 {
		limit = 1
	}
	var (
		page []Entry
		more bool
	)
	err := r.Entries(from, func(e Entry) bool {
		if len(page) == limit {
			more = true
			return false
		}
		if e.Slot <= chosen {
			e.Decided = true
		}
		page = append(page, e)
		return true
	})
	return page, more, err
}
