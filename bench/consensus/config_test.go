package consensus

import (
	"errors"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"ok memory", Config{Members: 3}, true},
		{"ok durable", Config{Members: 1, Durable: true, Dir: "/tmp"}, true},
		{"no members", Config{Members: 0}, false},
		{"negative members", Config{Members: -1}, false},
		{"durable without dir", Config{Members: 3, Durable: true}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.cfg.Validate(); (err == nil) != tc.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestLoadValidate(t *testing.T) {
	ok := Load{Clients: 1, ValueBytes: 128, Window: time.Second}
	for _, tc := range []struct {
		name string
		edit func(*Load)
		ok   bool
	}{
		{"ok", func(*Load) {}, true},
		{"empty values", func(l *Load) { l.ValueBytes = 0 }, true},
		{"no clients", func(l *Load) { l.Clients = 0 }, false},
		{"negative value", func(l *Load) { l.ValueBytes = -1 }, false},
		{"negative warmup", func(l *Load) { l.Warmup = -time.Second }, false},
		{"no window", func(l *Load) { l.Window = 0 }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := ok
			tc.edit(&l)
			if err := l.Validate(); (err == nil) != tc.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestLookup(t *testing.T) {
	for _, name := range Names() {
		sys, err := Lookup(name)
		if err != nil {
			t.Fatalf("Lookup(%q): %v", name, err)
		}
		if sys.Name() != name {
			t.Errorf("Lookup(%q).Name() = %q", name, sys.Name())
		}
	}
	if _, err := Lookup("zab"); !errors.Is(err, ErrUnknownSystem) {
		t.Fatalf("Lookup(zab) = %v, want ErrUnknownSystem", err)
	}
}
