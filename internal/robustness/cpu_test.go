//go:build unix

package robustness

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cpuTimes is the CPU time used so far by this process and by each member.
type cpuTimes struct {
	self    time.Duration
	members []time.Duration // zero where the member's usage cannot be read
}

func readCPU(c *cluster) cpuTimes {
	var t cpuTimes
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		t.self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	for _, p := range c.procs {
		p.mu.Lock()
		pid := 0
		if p.cmd != nil && p.cmd.Process != nil {
			pid = p.cmd.Process.Pid
		}
		p.mu.Unlock()
		t.members = append(t.members, procCPU(pid))
	}
	return t
}

// procCPU reads a process's user and system time from /proc (Linux); zero
// where there is no /proc.
func procCPU(pid int) time.Duration {
	if pid == 0 {
		return 0
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// The command name (field 2) may hold spaces: count from its ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	const ticks = 100 // USER_HZ on every Linux this runs on
	return time.Duration(utime+stime) * time.Second / ticks
}

// perOp is the CPU time of one op, by process, between two readings.
func (t cpuTimes) perOp(before cpuTimes, ops int) (self time.Duration, members []time.Duration) {
	if ops == 0 {
		return 0, nil
	}
	self = (t.self - before.self) / time.Duration(ops)
	for i := range t.members {
		if i < len(before.members) {
			members = append(members, (t.members[i]-before.members[i])/time.Duration(ops))
		}
	}
	return self, members
}
