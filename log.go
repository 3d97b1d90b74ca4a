package paxos

// Log is the storage seam of the library: an ordered map from uint64 ids to
// messages. Acceptors keep their promises and accepted entries in Logs, and
// the observer records the chosen values into one.
//
// Implementations must follow these rules (the logtest package checks them):
//
//   - Every uint64 id is valid, 0 and math.MaxUint64 included.
//   - Record stores msg at id, replacing what was there. A durable Log returns
//     only once the record is synced.
//   - Last decodes the record with the highest id into msg; on an empty Log it
//     leaves msg untouched and returns nil.
//   - Range calls fn with a freshly allocated *T (T is proto's type; proto may
//     be a T or a *T) for every record with start <= id <= stop, in ascending
//     id order, and stops at and returns the first error fn returns. start >
//     stop calls nothing and returns nil.
//   - WithPrefix returns a view over the same storage whose ids are isolated
//     from the parent's and from every other prefix's; prefixes nest, and
//     WithPrefix("a").WithPrefix("b") differs from WithPrefix("ab"). Every
//     string is a valid prefix.
//   - Safe for concurrent use. Encoding and decoding failures and closed
//     storage are errors that name the id, never panics.
type Log interface {
	WithPrefix(str string) Log
	Record(id uint64, msg interface{}) error
	Last(msg interface{}) error
	Range(start, stop uint64, proto interface{}, fn func(msg interface{}) error) error
}

// BatchLog is an optional ability of a Log, found by type assertion.
// RecordBatch stores msgs[i] at ids[i] for every i, in order (a later id equal
// to an earlier one replaces it), as one operation: a durable Log syncs once
// for the whole batch and either all or none of it survives a crash. ids and
// msgs have the same length. The observer uses it for the RecordedLog
// (consecutive positions), and acceptors for the entries of a batch of
// accepts.
type BatchLog interface {
	Log
	RecordBatch(ids []uint64, msgs []interface{}) error
}

// recordChunk bounds one RecordBatch the library makes. A learner catching
// up may deliver tens of thousands of values at once, and a durable Log
// writes a batch as one transaction, which Badger refuses over ~15% of a
// memtable (about 4.8 MiB with BadgerOptions): the same batch would then
// fail forever. 1024 records under Badger's 1 KiB value threshold stay far
// below that, and larger values go to its value log.
const recordChunk = 1024

// recordChunked records msgs[i] at ids[i] in order, at most recordChunk per
// RecordBatch when l offers it. Each chunk is atomic, not the whole: a
// crash may keep a prefix, as if it came before the rest was written.
func recordChunked(l Log, ids []uint64, msgs []interface{}) error {
	bl, batch := l.(BatchLog)
	for len(ids) > 0 {
		n := min(len(ids), recordChunk)
		if batch && n > 1 {
			if err := bl.RecordBatch(ids[:n], msgs[:n]); err != nil {
				return err
			}
		} else {
			for i, id := range ids[:n] {
				if err := l.Record(id, msgs[i]); err != nil {
					return err
				}
			}
		}
		ids, msgs = ids[n:], msgs[n:]
	}
	return nil
}
