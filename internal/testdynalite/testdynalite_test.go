package testdynalite

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// listTables POSTs a DynamoDB ListTables request. Any HTTP response counts
// as an answer (dynalite rejects the unsigned request, and that is fine).
func listTables(endpoint string) (*http.Response, string, error) {
	req, err := http.NewRequest(http.MethodPost, endpoint+"/", strings.NewReader("{}"))
	if err != nil {
		return nil, "", err
	}
	req.Header.Set("X-Amz-Target", "DynamoDB_20120810.ListTables")
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, string(body), err
}

func TestStartStopRestart(t *testing.T) {
	s := Start(t)
	if !strings.HasPrefix(s.Endpoint(), "http://127.0.0.1:") {
		t.Fatalf("Endpoint() = %q, want http://127.0.0.1:PORT", s.Endpoint())
	}

	resp, body, err := listTables(s.Endpoint())
	if err != nil {
		t.Fatalf("running dynalite did not answer: %v", err)
	}
	if !strings.Contains(body, "com.amazon.coral.service#") {
		t.Errorf("answer does not look like DynamoDB's: %d %s", resp.StatusCode, body)
	}

	s.Stop(t)
	if _, _, err := listTables(s.Endpoint()); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("after Stop: err = %v, want connection refused", err)
	}
	s.Stop(t) // a second Stop is a no-op

	endpoint := s.Endpoint()
	s.Restart(t)
	if s.Endpoint() != endpoint {
		t.Errorf("Restart moved the endpoint from %s to %s", endpoint, s.Endpoint())
	}
	if _, _, err := listTables(s.Endpoint()); err != nil {
		t.Fatalf("after Restart: %v", err)
	}
	s.Restart(t) // restarting a running server also works
	if _, _, err := listTables(s.Endpoint()); err != nil {
		t.Fatalf("after second Restart: %v", err)
	}
}

func TestTwoServersAreIndependent(t *testing.T) {
	t.Parallel()
	a, b := Start(t), Start(t)
	if a.Endpoint() == b.Endpoint() {
		t.Fatalf("two servers share %s", a.Endpoint())
	}
	a.Stop(t)
	if _, _, err := listTables(b.Endpoint()); err != nil {
		t.Fatalf("stopping one server took down the other: %v", err)
	}
}
