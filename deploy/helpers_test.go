package deploy

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// deployDir is this module's directory (deploy/), repoRoot the hotrow
// repository holding it.
var deployDir, repoRoot = func() (string, string) {
	_, file, _, _ := runtime.Caller(0)
	d := filepath.Dir(file)
	return d, filepath.Dir(d)
}()

// inCI reports whether a missing tool must fail the run (CI=true) rather
// than skip the test.
func inCI() bool { return os.Getenv("CI") == "true" }

// needTool returns the path of an executable, or skips the test saying how
// to install it (fails under CI=true: scripts/test-deps.sh installs it).
func needTool(t *testing.T, name, install string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	msg := fmt.Sprintf("%s not found: %s (make test-deps does it)", name, install)
	if inCI() {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// readFile reads a file under deploy/ (or the repository, with "../").
func readFile(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(deployDir, rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// run runs a command and returns its combined output, failing the test if
// it fails.
func run(t testing.TB, dir string, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out.String())
	}
	return out.String()
}

// testVersion is stamped into the hub binary the tests build.
const testVersion = "deploytest"

var (
	binOnce sync.Once
	binPath string
	binErr  error
	binDir  string
)

// hotrowBinary builds the hub once per test run, as deploy/Dockerfile does:
// static (CGO_ENABLED=0), stripped, the version stamped with -ldflags.
func hotrowBinary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "hotrow-deploy-")
		if binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "hotrow")
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w -X main.version="+testVersion, "-o", binPath, "./server")
		cmd.Dir = repoRoot
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build ./server: %w\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}
