// Command report reads consensusbench JSON lines and writes a Markdown table
// of medians and paired ratios (each system against etcd-raft and against
// hashicorp-raft, repetition by repetition) plus PNG plots of throughput and
// p99 latency against clients.
//
//	report -out results results/run-*.jsonl
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/mjpitz/myago/paxos/bench/consensus"
)

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
}

func run(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "results", "directory for report.md and the PNG plots")
	md := fs.String("md", "report.md", "name of the Markdown file inside -out")
	noPlots := fs.Bool("no-plots", false, "skip the PNG plots")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return errors.New("no input files (JSON lines from consensusbench)")
	}
	var results []consensus.Result
	for _, path := range fs.Args() {
		rs, err := readResults(path)
		if err != nil {
			return err
		}
		results = append(results, rs...)
	}
	if len(results) == 0 {
		return errors.New("no results in the input files")
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	t := newTable(results)
	var plots []string
	if !*noPlots {
		var err error
		if plots, err = writePlots(*out, t); err != nil {
			return err
		}
	}
	f, err := os.Create(filepath.Join(*out, *md))
	if err != nil {
		return err
	}
	err = writeMarkdown(f, t, plots)
	return errors.Join(err, f.Close())
}

// readResults decodes one result per non-empty line of path.
func readResults(path string) ([]consensus.Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []consensus.Result
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var r consensus.Result
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		out = append(out, r)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}
