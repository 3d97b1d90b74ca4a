package cluster

import (
	"bytes"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestParseLogLine(t *testing.T) {
	tests := []struct {
		line  string
		level slog.Level
		msg   string
	}{
		{"[DEBUG] memberlist: Stream connection from=127.0.0.1:1\n", slog.LevelDebug, "memberlist: Stream connection from=127.0.0.1:1"},
		{"[TRACE] memberlist: x", slog.LevelDebug, "memberlist: x"},
		{"[INFO] memberlist: Suspect node", slog.LevelInfo, "memberlist: Suspect node"},
		{"[WARN] memberlist: Refuting", slog.LevelWarn, "memberlist: Refuting"},
		{"[ERR] memberlist: Failed", slog.LevelError, "memberlist: Failed"},
		{"[ERROR] memberlist: Failed", slog.LevelError, "memberlist: Failed"},
		{"[NOTICE] odd", slog.LevelInfo, "[NOTICE] odd"},
		{"[unterminated", slog.LevelInfo, "[unterminated"},
		{"plain line\r\n", slog.LevelInfo, "plain line"},
		{"", slog.LevelInfo, ""},
	}
	for _, tt := range tests {
		level, msg := parseLogLine(tt.line)
		assert.Equal(t, tt.level, level, "%q", tt.line)
		assert.Equal(t, tt.msg, msg, "%q", tt.line)
	}
}

func TestMemberlistLoggerRespectsLevel(t *testing.T) {
	var buf bytes.Buffer
	l := newMemberlistLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn})))
	l.Printf("[DEBUG] memberlist: hidden")
	l.Printf("[WARN] memberlist: shown %d", 42)
	assert.NotContains(t, buf.String(), "hidden")
	assert.Contains(t, buf.String(), `level=WARN msg="memberlist: shown 42" component=memberlist`)

	// The default logger is silent and never fails.
	newMemberlistLogger(loggerOrDiscard(nil)).Printf("[ERR] memberlist: nobody hears this")
}
