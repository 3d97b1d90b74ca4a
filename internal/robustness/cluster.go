//go:build unix

package robustness

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mjpitz/myago/paxos"
)

// memberState is what the nemesis did to a member process.
type memberState int

const (
	running memberState = iota
	paused              // SIGSTOP
	dead                // SIGKILL or exited
)

// proc is one kvstore member process, restartable over its data directory.
type proc struct {
	id        int // 0-based
	rpc, http string
	dataDir   string
	logPath   string

	mu     sync.Mutex
	state  memberState
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd exits
	exit   error         // cmd.Wait's error, once exited
	starts int
}

// cluster is five (or n) kvstore processes on loopback, every link between
// them through a proxy: member i dials member j at proxies[i][j].
type cluster struct {
	bin     string
	dir     string
	procs   []*proc
	proxies [][]*proxy
	status  *http.Client
	// profDir, when set, has every member write a CPU profile there
	// (member-N.prof, of its first run); close then stops members with
	// SIGINT so that they write it.
	profDir string
}

// startCluster starts n members of the kvstore binary bin, their data and
// logs under dir, and waits until each serves HTTP.
func startCluster(ctx context.Context, bin, dir string, n int) (*cluster, error) {
	return startClusterWith(ctx, bin, dir, n, true, "")
}

// startClusterWith is startCluster, with or without the proxies (the
// benchmark runs the members on direct links).
func startClusterWith(ctx context.Context, bin, dir string, n int, proxied bool, profDir string) (*cluster, error) {
	c := &cluster{bin: bin, dir: dir, profDir: profDir, status: &http.Client{Timeout: time.Second,
		Transport: &http.Transport{DisableKeepAlives: true}}}
	var rpcs []string
	rng, taken := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), uint64(os.Getpid()))), map[string]bool{}
	for i := 0; i < n; i++ {
		rpc, err := freeAddr(rng, taken)
		if err != nil {
			return nil, err
		}
		httpAddr, err := freeAddr(rng, taken)
		if err != nil {
			return nil, err
		}
		rpcs = append(rpcs, rpc)
		c.procs = append(c.procs, &proc{id: i, rpc: rpc, http: httpAddr, state: dead,
			dataDir: filepath.Join(dir, fmt.Sprintf("member-%d", i+1)),
			logPath: filepath.Join(dir, fmt.Sprintf("member-%d.log", i+1))})
	}
	if proxied {
		c.proxies = make([][]*proxy, n)
	}
	for i := range c.proxies {
		c.proxies[i] = make([]*proxy, n)
		for j := range c.proxies[i] {
			if i == j {
				continue
			}
			p, err := newProxy(rpcs[j])
			if err != nil {
				c.close()
				return nil, err
			}
			c.proxies[i][j] = p
		}
	}
	for _, p := range c.procs {
		if err := c.start(p); err != nil {
			c.close()
			return nil, err
		}
	}
	for _, p := range c.procs {
		if err := c.waitServing(ctx, p); err != nil {
			c.close()
			return nil, err
		}
	}
	return c, nil
}

// Member ports come from below the system's ephemeral range: a member's
// port sits unbound while the member is down, and the thousands of
// connections the run opens would otherwise soon take it as their source
// port, so the member could not restart.
const (
	memberPortMin = 20000
	memberPortMax = 32000 // Linux's ephemeral range starts at 32768 by default
)

// freeAddr returns a loopback address with a free port outside the
// ephemeral range, other than those in taken.
func freeAddr(rng *rand.Rand, taken map[string]bool) (string, error) {
	if lo := ephemeralLow(); lo <= memberPortMax {
		return "", fmt.Errorf("the ephemeral port range starts at %d: no room below it for the members' ports", lo)
	}
	for range 1000 {
		addr := fmt.Sprintf("127.0.0.1:%d", memberPortMin+rng.IntN(memberPortMax-memberPortMin))
		if taken[addr] {
			continue
		}
		l, err := net.Listen("tcp", addr)
		if err != nil {
			continue
		}
		taken[addr] = true
		return addr, l.Close()
	}
	return "", fmt.Errorf("no free port in [%d, %d)", memberPortMin, memberPortMax)
}

// ephemeralLow is the lowest port the system hands out to connections
// (Linux tells; other systems start higher than Linux's default).
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 32768
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 32768
	}
	lo, err := strconv.Atoi(f[0])
	if err != nil {
		return 32768
	}
	return lo
}

// args are member p's flags: every member's real RPC address as a peer,
// and every other member reached through p's proxies.
func (c *cluster) args(p *proc) []string {
	var peers, via []string
	for j, q := range c.procs {
		peers = append(peers, q.rpc)
		if j != p.id && c.proxies != nil {
			via = append(via, q.rpc+"="+c.proxies[p.id][j].addr())
		}
	}
	args := []string{"-data", p.dataDir, "-rpc", p.rpc, "-http", p.http, "-peers", strings.Join(peers, ",")}
	if c.profDir != "" && p.starts == 1 {
		args = append(args, "-cpuprofile", filepath.Join(c.profDir, fmt.Sprintf("member-%d.prof", p.id+1)))
	}
	if c.proxies == nil {
		return args // the benchmark: direct links, quiet members
	}
	return append(args, "-via", strings.Join(via, ","), "-verbose")
}

// start runs member p's process, its output appended to its log file.
func (c *cluster) start(p *proc) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state != dead {
		return fmt.Errorf("member %d: start while %v", p.id+1, p.state)
	}
	f, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	p.starts++
	fmt.Fprintf(f, "=== robustness: start %d of member %d at %s\n", p.starts, p.id+1, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(c.bin, c.args(p)...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		_ = f.Close()
		return fmt.Errorf("member %d: %w", p.id+1, err)
	}
	p.cmd, p.state = cmd, running
	exited := make(chan struct{})
	p.exited = exited
	go func() {
		err := cmd.Wait()
		fmt.Fprintf(f, "=== robustness: member %d exited at %s: %v\n", p.id+1, time.Now().Format(time.RFC3339Nano), err)
		_ = f.Close()
		p.mu.Lock()
		if p.cmd == cmd {
			p.state, p.exit = dead, err
		}
		p.mu.Unlock()
		close(exited)
	}()
	return nil
}

// waitServing waits until member p answers /status.
func (c *cluster) waitServing(ctx context.Context, p *proc) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		if _, err := c.memberStatus(ctx, p); err == nil {
			return nil
		}
		p.mu.Lock()
		exited := p.exited
		p.mu.Unlock()
		select {
		case <-ctx.Done():
			return fmt.Errorf("member %d did not serve HTTP within 30 s (log: %s)", p.id+1, p.logPath)
		case <-exited:
			return fmt.Errorf("member %d exited while starting (log: %s)", p.id+1, p.logPath)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// memberStatus asks member p for its paxos.Status.
func (c *cluster) memberStatus(ctx context.Context, p *proc) (paxos.Status, error) {
	var st paxos.Status
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+p.http+"/status", nil)
	if err != nil {
		return st, err
	}
	resp, err := c.status.Do(req)
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("member %d: /status: %s", p.id+1, resp.Status)
	}
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

// leader returns the member that says it leads (the highest ballot if
// several do), or -1. Paused and dead members are not asked.
func (c *cluster) leader(ctx context.Context) int {
	best, ballot := -1, uint64(0)
	for _, p := range c.procs {
		if p.current() != running {
			continue
		}
		ctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		st, err := c.memberStatus(ctx, p)
		cancel()
		if err == nil && st.State == "leading" && st.Ballot >= ballot {
			best, ballot = p.id, st.Ballot
		}
	}
	return best
}

func (p *proc) current() memberState {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.state
}

// signal sends sig to member p's process, if it runs.
func (p *proc) signal(sig syscall.Signal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state == dead || p.cmd == nil {
		return fmt.Errorf("member %d is not running", p.id+1)
	}
	if err := p.cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("member %d: %v: %w", p.id+1, sig, err)
	}
	switch sig {
	case syscall.SIGSTOP:
		p.state = paused
	case syscall.SIGCONT:
		p.state = running
	}
	return nil
}

// kill SIGKILLs member p and waits until it is gone.
func (c *cluster) kill(p *proc) error {
	if err := p.signal(syscall.SIGKILL); err != nil {
		return err
	}
	p.mu.Lock()
	exited := p.exited
	p.mu.Unlock()
	<-exited
	return nil
}

// restart starts a dead member p over its data directory and waits until
// it serves HTTP.
func (c *cluster) restart(ctx context.Context, p *proc) error {
	if err := c.start(p); err != nil {
		return err
	}
	return c.waitServing(ctx, p)
}

// stopGracefully resumes member p if paused and SIGTERMs it; after the
// deadline it is killed, and an error says so. A member that exits with an
// error (a panic, or -race's exit status 66) is an error too.
func (c *cluster) stopGracefully(p *proc, deadline time.Duration) error {
	p.mu.Lock()
	exited, state := p.exited, p.state
	p.mu.Unlock()
	if state == dead {
		return nil
	}
	_ = p.signal(syscall.SIGCONT)
	if err := p.signal(syscall.SIGTERM); err != nil {
		return err
	}
	select {
	case <-exited:
		p.mu.Lock()
		err := p.exit
		p.mu.Unlock()
		if err != nil {
			return fmt.Errorf("member %d exited after SIGTERM with %v (log: %s)", p.id+1, err, p.logPath)
		}
		return nil
	case <-time.After(deadline):
		_ = p.signal(syscall.SIGKILL)
		<-exited
		return fmt.Errorf("member %d did not stop within %v of SIGTERM; killed", p.id+1, deadline)
	}
}

// setLinks sets the mode of every link between a and b, both directions.
func (c *cluster) setLinks(a, b []int, mode linkMode, delay time.Duration) {
	for _, i := range a {
		for _, j := range b {
			if i != j {
				c.proxies[i][j].set(mode, delay)
				c.proxies[j][i].set(mode, delay)
			}
		}
	}
}

// healLinks lets every link pass again, without delay.
func (c *cluster) healLinks() {
	for i := range c.proxies {
		for _, p := range c.proxies[i] {
			if p != nil {
				p.set(pass, 0)
			}
		}
	}
}

// close kills every member and stops the proxies.
func (c *cluster) close() {
	for _, p := range c.procs {
		p.mu.Lock()
		exited := p.exited
		p.mu.Unlock()
		if c.profDir != "" && p.signal(syscall.SIGINT) == nil {
			select {
			case <-exited:
				continue
			case <-time.After(10 * time.Second):
			}
		}
		if p.signal(syscall.SIGKILL) == nil {
			<-exited
		}
	}
	for i := range c.proxies {
		for _, p := range c.proxies[i] {
			if p != nil {
				p.close()
			}
		}
	}
}

// recorded is one position of a member's recorded log.
type recorded struct {
	pos   uint64
	value []byte
}

// readRecorded reads the recorded log of a stopped member's data directory
// (NodeConfig.DataDir keeps it in its recorded database).
func readRecorded(dataDir string) ([]recorded, error) {
	db, err := paxos.OpenBadger(filepath.Join(dataDir, "recorded"), nil)
	if err != nil {
		return nil, err
	}
	var out []recorded
	err = (&paxos.Badger{DB: db}).WithPrefix("recorded").Range(1, ^uint64(0), paxos.Proposal{}, func(msg interface{}) error {
		p, ok := msg.(*paxos.Proposal)
		if !ok {
			return fmt.Errorf("record of type %T", msg)
		}
		out = append(out, recorded{pos: p.ID, value: p.Value})
		return nil
	})
	return out, errors.Join(err, db.Close())
}

func (s memberState) String() string {
	switch s {
	case running:
		return "running"
	case paused:
		return "paused"
	case dead:
		return "dead"
	}
	return "unknown"
}

// crashMarks are the lines the Go runtime starts a crash report with: a
// member's log holding one crashed (even if the nemesis restarted it) or,
// built with -race, raced.
var crashMarks = []string{"WARNING: DATA RACE", "panic: ", "fatal error: "}

// crashReports returns the crash reports in a member's log, one line each:
// the mark, and where in the log it is.
func crashReports(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var found []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		for _, m := range crashMarks {
			if strings.HasPrefix(sc.Text(), m) {
				found = append(found, fmt.Sprintf("%s:%d: %s", path, line, sc.Text()))
			}
		}
	}
	return found, sc.Err()
}
