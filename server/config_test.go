package main

import (
	"runtime"
	"strings"
	"testing"
)

// The socket writers default to half the processors, at least one, and can
// be set by flag or environment; none at all is refused at start-up.
func TestWSWritersConfig(t *testing.T) {
	cfg, err := parseServeConfig("serve", nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := max(1, runtime.GOMAXPROCS(0)/2); cfg.WSWriters != want {
		t.Errorf("default writers %d, want %d", cfg.WSWriters, want)
	}
	if cfg, err = parseServeConfig("serve", []string{"-ws-writers", "3"}); err != nil || cfg.WSWriters != 3 {
		t.Errorf("-ws-writers 3: %d, %v", cfg.WSWriters, err)
	}
	t.Setenv("HOTROW_WS_WRITERS", "5")
	if cfg, err = parseServeConfig("serve", nil); err != nil || cfg.WSWriters != 5 {
		t.Errorf("HOTROW_WS_WRITERS=5: %d, %v", cfg.WSWriters, err)
	}
	if _, err = parseServeConfig("serve", []string{"-ws-writers", "0"}); err == nil || !strings.Contains(err.Error(), "ws-writers") {
		t.Errorf("-ws-writers 0: %v, want an error naming the flag", err)
	}
	t.Setenv("HOTROW_WS_WRITERS", "none")
	if _, err = parseServeConfig("serve", nil); err == nil || !strings.Contains(err.Error(), "HOTROW_WS_WRITERS") {
		t.Errorf("HOTROW_WS_WRITERS=none: %v, want an error naming the variable", err)
	}
}
