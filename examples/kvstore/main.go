// Command kvstore is a replicated key-value store on paxos: each process is
// one member (Badger on disk, yarpc between members, HTTP JSON for clients);
// writes are log entries and reads go through a barrier, so both are
// linearizable on every member.
//
// With no flags it runs a local three-member cluster in one process and
// serves until interrupted. -demo does the same in a fresh directory, writes,
// reads back from every member, prints what it did and exits. The other
// flags run a single member for a real multi-process cluster:
//
//	kvstore -data /var/lib/kv1 -rpc 127.0.0.1:7001 -http 127.0.0.1:8001 \
//	        -peers 127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"syscall"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "kvstore:", err)
		os.Exit(1)
	}
}

// run parses its own FlagSet: badger's dependencies register flags (-v) on
// the global one.
func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("kvstore", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		demo     = fs.Bool("demo", false, "run a local 3-member cluster in a fresh directory, write, read back from every member, print and exit")
		data     = fs.String("data", "", "data directory (local cluster: one subdirectory per member; default ./data/kvstore)")
		rpc      = fs.String("rpc", "", "single member: RPC listen address, e.g. 127.0.0.1:7001")
		httpAddr = fs.String("http", "", "single member: HTTP listen address, e.g. 127.0.0.1:8001")
		peers    = fs.String("peers", "", "single member: comma-separated RPC addresses of every member, this one included")
		gossip   = fs.String("gossip", "", "single member: gossip bind address (discovery by gossip instead of -peers)")
		join     = fs.String("join", "", "single member: comma-separated gossip addresses to join through")
		expect   = fs.Int("expect", 0, "single member with gossip: the number of voters to wait for")
		id       = fs.Uint("id", 0, "single member with gossip: this member's server id (1-255, distinct per member)")
		maxValue = fs.Int("max-value-bytes", 64<<10, "the largest value accepted (larger: 413)")
		basePort = fs.Int("base-port", 7001, "local cluster: RPC ports base..base+2, HTTP ports base+1000..base+1002")
		via      = fs.String("via", "", "single member: reach members through other addresses (proxies), as member=address,...")
		verbose  = fs.Bool("verbose", false, "log what the members do")
		cpuprof  = fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *cpuprof != "" {
		f, err := os.Create(*cpuprof)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer func() {
			pprof.StopCPUProfile()
			_ = f.Close()
		}()
	}
	logger := slog.New(slog.DiscardHandler)
	if *verbose {
		logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	switch {
	case *demo:
		dir, err := os.MkdirTemp("", "kvstore-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		return runDemo(ctx, dir, *maxValue, logger, stdout)
	case *rpc != "" || *httpAddr != "":
		if *rpc == "" || *httpAddr == "" || *data == "" {
			return errors.New("a single member needs -data, -rpc and -http (and -peers, or -gossip with -expect and -id)")
		}
		if *id > 255 {
			return fmt.Errorf("-id %d is over 255", *id)
		}
		routes, err := parseVia(*via)
		if err != nil {
			return err
		}
		m, err := startMember(memberConfig{dataDir: *data, rpc: *rpc, http: *httpAddr, peers: split(*peers),
			gossip: *gossip, join: split(*join), expect: *expect, id: uint8(*id), maxValueBytes: *maxValue, logger: logger,
			via: routes})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "member: rpc %s, http http://%s\n", m.node.Addr(), m.httpAddr())
		<-ctx.Done()
		return m.close()
	default:
		dir := *data
		if dir == "" {
			dir = filepath.Join("data", "kvstore")
		}
		ms, err := startLocal(dir, "127.0.0.1", *basePort, *maxValue, logger)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "3 members, data in %s:\n", dir)
		for i, m := range ms {
			fmt.Fprintf(stdout, "  member %d: rpc %s, http http://%s\n", i+1, m.node.Addr(), m.httpAddr())
		}
		fmt.Fprintf(stdout, "try:\n  curl -X PUT -d '{\"value\":\"world\"}' http://%s/kv/hello\n  curl http://%s/kv/hello\n",
			ms[0].httpAddr(), ms[2].httpAddr())
		fmt.Fprintln(stdout, "serving until interrupted (Ctrl-C)")
		<-ctx.Done()
		return closeAll(ms)
	}
}

// parseVia reads -via: member=address pairs.
func parseVia(s string) (map[string]string, error) {
	routes := map[string]string{}
	for _, kv := range split(s) {
		member, addr, ok := strings.Cut(kv, "=")
		if !ok || member == "" || addr == "" {
			return nil, fmt.Errorf("-via: %q is not member=address", kv)
		}
		routes[member] = addr
	}
	return routes, nil
}

func split(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// startLocal starts three members in this process, each with its own ports
// and data directory under dir. Port 0 (basePort 0) lets the system choose
// the ports.
func startLocal(dir, host string, basePort, maxValue int, logger *slog.Logger) ([]*member, error) {
	rpcs := make([]string, 3)
	https := make([]string, 3)
	for i := range rpcs {
		if basePort == 0 {
			addr, err := freePort(host)
			if err != nil {
				return nil, err
			}
			rpcs[i], https[i] = addr, host+":0"
		} else {
			rpcs[i] = fmt.Sprintf("%s:%d", host, basePort+i)
			https[i] = fmt.Sprintf("%s:%d", host, basePort+1000+i)
		}
	}
	var ms []*member
	for i := range rpcs {
		m, err := startMember(memberConfig{dataDir: filepath.Join(dir, fmt.Sprintf("member-%d", i+1)),
			rpc: rpcs[i], http: https[i], peers: rpcs, maxValueBytes: maxValue, logger: logger})
		if err != nil {
			_ = closeAll(ms)
			return nil, fmt.Errorf("member %d: %w", i+1, err)
		}
		ms = append(ms, m)
	}
	return ms, nil
}

func closeAll(ms []*member) error {
	var errs []error
	for _, m := range ms {
		errs = append(errs, m.close())
	}
	return errors.Join(errs...)
}
