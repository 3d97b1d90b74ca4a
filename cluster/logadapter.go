package cluster

import (
	"context"
	"log"
	"log/slog"
	"strings"
)

// slogWriter turns the lines memberlist prints through its *log.Logger
// ("[WARN] memberlist: ...") into slog records at the matching level.
// log.Logger calls Write once per line, so each call is one record.
type slogWriter struct {
	log *slog.Logger
}

// newMemberlistLogger returns a *log.Logger for memberlist.Config.Logger
// that writes into l.
func newMemberlistLogger(l *slog.Logger) *log.Logger {
	return log.New(slogWriter{log: l}, "", 0)
}

// Write logs one line; it never fails, so memberlist never sees a logging
// error.
func (w slogWriter) Write(p []byte) (int, error) {
	level, msg := parseLogLine(string(p))
	ctx := context.Background()
	if w.log.Enabled(ctx, level) {
		w.log.Log(ctx, level, msg, "component", "memberlist")
	}
	return len(p), nil
}

// parseLogLine splits memberlist's "[LEVEL] text" convention; a line without
// a known level tag is logged at Info as it is.
func parseLogLine(line string) (slog.Level, string) {
	line = strings.TrimRight(line, "\r\n")
	rest, ok := strings.CutPrefix(line, "[")
	if !ok {
		return slog.LevelInfo, line
	}
	tag, text, ok := strings.Cut(rest, "] ")
	if !ok {
		return slog.LevelInfo, line
	}
	switch tag {
	case "TRACE", "DEBUG":
		return slog.LevelDebug, text
	case "INFO":
		return slog.LevelInfo, text
	case "WARN":
		return slog.LevelWarn, text
	case "ERR", "ERROR":
		return slog.LevelError, text
	default:
		return slog.LevelInfo, line
	}
}
