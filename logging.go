package paxos

import "log/slog"

var discard = slog.New(slog.DiscardHandler)

// orDiscard keeps the library silent unless the caller gave it a logger.
func orDiscard(l *slog.Logger) *slog.Logger {
	if l == nil {
		return discard
	}
	return l
}
