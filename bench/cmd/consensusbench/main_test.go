package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"testing"

	"github.com/mjpitz/myago/paxos/bench/consensus"
)

func TestRunPrintsOneResult(t *testing.T) {
	var out bytes.Buffer
	args := []string{"-system=floor-rtt", "-members=1", "-clients=2", "-value=64", "-durable=false",
		"-warmup=10ms", "-duration=100ms", "-run=t", "-rep=2", "-dir=" + t.TempDir()}
	if err := run(args, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	var r consensus.Result
	dec := json.NewDecoder(&out)
	if err := dec.Decode(&r); err != nil {
		t.Fatal(err)
	}
	if dec.More() {
		t.Error("more than one JSON value printed")
	}
	if r.System != "floor-rtt" || r.Clients != 2 || r.ValueBytes != 64 || r.Run != "t" || r.Rep != 2 || r.Ops == 0 {
		t.Fatalf("result = %+v", r)
	}
}

func TestRunRejectsBadArguments(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		is   error
	}{
		{"unknown system", []string{"-system=zab"}, consensus.ErrUnknownSystem},
		{"no clients", []string{"-clients=0"}, nil},
		{"stray argument", []string{"extra"}, nil},
		{"bad flag", []string{"-members=three"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := run(tc.args, io.Discard, io.Discard)
			if err == nil {
				t.Fatal("run succeeded")
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Fatalf("run = %v, want %v", err, tc.is)
			}
		})
	}
}
