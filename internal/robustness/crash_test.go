package robustness

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCrashReports finds the runtime's crash reports in a member's output,
// and only those: a log line that mentions a panic is not one.
func TestCrashReports(t *testing.T) {
	path := filepath.Join(t.TempDir(), "member-1.log")
	out := "=== robustness: start 1 of member 1\n" +
		"time=... level=ERROR msg=\"paxos: badger write\" err=\"badger panicked: closed\"\n" +
		"==================\n" +
		"WARNING: DATA RACE\n" +
		"Write at 0x00c000123456 by goroutine 7:\n" +
		"=== robustness: member 1 exited: exit status 66\n" +
		"panic: runtime error: index out of range [3] with length 3\n" +
		"fatal error: concurrent map writes\n"
	require.NoError(t, os.WriteFile(path, []byte(out), 0o644))
	got, err := crashReports(path)
	require.NoError(t, err)
	assert.Equal(t, []string{
		path + ":4: WARNING: DATA RACE",
		path + ":7: panic: runtime error: index out of range [3] with length 3",
		path + ":8: fatal error: concurrent map writes",
	}, got)

	clean := filepath.Join(t.TempDir(), "member-2.log")
	require.NoError(t, os.WriteFile(clean, []byte("=== robustness: start 1 of member 2\n"), 0o644))
	got, err = crashReports(clean)
	require.NoError(t, err)
	assert.Empty(t, got)

	_, err = crashReports(filepath.Join(t.TempDir(), "missing.log"))
	assert.Error(t, err)
}
