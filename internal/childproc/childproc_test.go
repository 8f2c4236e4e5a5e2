package childproc

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"testing"
	"time"
)

// WaitReady returns once the URL answers 200, fails fast when the child
// exits first, and gives up after its timeout.
func TestWaitReady(t *testing.T) {
	ctx := context.Background()
	status := http.StatusServiceUnavailable
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(status) }))
	defer srv.Close()

	sleeper := exec.Command("sleep", "30")
	p, err := Start(sleeper)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sleeper.Process.Kill(); <-p.Exited }()
	if err := p.WaitReady(ctx, srv.URL, 200*time.Millisecond, false); err == nil || errors.Is(err, ErrExited) {
		t.Fatalf("503 until the timeout: %v, want a timeout", err)
	}
	if err := p.WaitReady(ctx, srv.URL, time.Second, true); err != nil {
		t.Fatalf("any status: %v", err)
	}
	status = http.StatusOK
	if err := p.WaitReady(ctx, srv.URL, time.Second, false); err != nil {
		t.Fatalf("200: %v", err)
	}

	quitter, err := Start(exec.Command("sh", "-c", "exit 3"))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = quitter.WaitReady(ctx, "http://127.0.0.1:1/", 10*time.Second, false)
	if !errors.Is(err, ErrExited) || time.Since(start) > 5*time.Second {
		t.Fatalf("a child that exited: %v after %v, want ErrExited at once", err, time.Since(start))
	}
}

// Stop ends a child with SIGTERM, and kills one that ignores it after the
// grace period.
func TestStop(t *testing.T) {
	polite, err := Start(exec.Command("sleep", "30"))
	if err != nil {
		t.Fatal(err)
	}
	if polite.Stop(5 * time.Second) {
		t.Error("a child that ends on SIGTERM was killed")
	}
	stubborn, err := Start(exec.Command("sh", "-c", `trap "" TERM; exec sleep 30`))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // the trap is set
	start := time.Now()
	if !stubborn.Stop(300 * time.Millisecond) {
		t.Error("a child that ignores SIGTERM was not killed")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Stop took %v", d)
	}
	select {
	case <-stubborn.Exited:
	default:
		t.Error("Stop returned before the child exited")
	}
}
