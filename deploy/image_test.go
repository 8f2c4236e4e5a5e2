package deploy

import (
	"debug/elf"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	stage int // index of the FROM it belongs to
	cmd   string
	args  string
	line  int
}

func parseDockerfile(t *testing.T, src string) []instruction {
	t.Helper()
	var out []instruction
	stage := -1
	var cur strings.Builder
	start := 0
	for i, l := range strings.Split(src, "\n") {
		trimmed := strings.TrimSpace(l)
		if cur.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if cur.Len() > 0 && strings.HasPrefix(trimmed, "#") {
			continue // comments inside a continued instruction
		}
		if cur.Len() == 0 {
			start = i + 1
		}
		if s, ok := strings.CutSuffix(trimmed, `\`); ok {
			cur.WriteString(s + " ")
			continue
		}
		cur.WriteString(trimmed)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		cmd = strings.ToUpper(cmd)
		if cmd == "FROM" {
			stage++
		}
		out = append(out, instruction{stage: stage, cmd: cmd, args: strings.TrimSpace(args), line: start})
		cur.Reset()
	}
	return out
}

// The Dockerfile's promises, read from its instructions: a multi-stage build
// of a static binary with the version stamped like the Makefile's, an empty
// final stage with CA certificates, a numeric non-root user, the hub as
// entrypoint.
func TestDockerfileInstructions(t *testing.T) {
	ins := parseDockerfile(t, string(readFile(t, "Dockerfile")))
	var froms []instruction
	for _, in := range ins {
		if in.cmd == "FROM" {
			froms = append(froms, in)
		}
	}
	if len(froms) < 2 {
		t.Fatalf("%d stages, want a build stage and a final stage", len(froms))
	}
	build, final := froms[0], froms[len(froms)-1]
	if !regexp.MustCompile(`^docker.io/library/golang:\S+ AS build$`).MatchString(build.args) {
		t.Errorf("first stage %q, want a golang image named build", build.args)
	}
	if final.args != "scratch" {
		t.Errorf("final stage FROM %q, want scratch", final.args)
	}

	makefile := string(readFile(t, "../Makefile"))
	ldflags := regexp.MustCompile(`(?m)^LDFLAGS\s*:?=\s*(.*)$`).FindStringSubmatch(makefile)
	if ldflags == nil {
		t.Fatal("no LDFLAGS in the Makefile")
	}
	stamp := strings.ReplaceAll(ldflags[1], "$(VERSION)", "${VERSION}") // -X main.version=${VERSION}
	var buildRun string
	hasVersionArg := false
	for _, in := range ins {
		if in.stage != build.stage {
			continue
		}
		if in.cmd == "ARG" && strings.HasPrefix(in.args, "VERSION") {
			hasVersionArg = true
		}
		if in.cmd == "RUN" && strings.Contains(in.args, "go build") {
			buildRun = in.args
		}
	}
	if !hasVersionArg {
		t.Error("the build stage has no ARG VERSION")
	}
	for _, want := range []string{"CGO_ENABLED=0", stamp, "./server", "-o /out/hotrow"} {
		if !strings.Contains(buildRun, want) {
			t.Errorf("the go build step %q lacks %q", buildRun, want)
		}
	}

	copies := map[string]string{}
	var user, entrypoint string
	for _, in := range ins {
		if in.stage != final.stage {
			continue
		}
		switch in.cmd {
		case "COPY":
			f := strings.Fields(in.args)
			if len(f) == 3 && f[0] == "--from=build" {
				copies[f[2]] = f[1]
			} else {
				t.Errorf("line %d: final-stage COPY %q: take files only from the build stage", in.line, in.args)
			}
		case "USER":
			user = in.args
		case "ENTRYPOINT":
			entrypoint = in.args
		case "RUN":
			t.Errorf("line %d: RUN in the final stage: scratch has no shell", in.line)
		}
	}
	if copies["/hotrow"] != "/out/hotrow" {
		t.Errorf("final stage copies %v, want /out/hotrow to /hotrow", copies)
	}
	if copies["/etc/ssl/certs/ca-certificates.crt"] == "" {
		t.Error("no CA certificates in the final stage: TLS to DSQL and DynamoDB would fail")
	}
	if m := regexp.MustCompile(`^(\d+):(\d+)$`).FindStringSubmatch(user); m == nil || m[1] == "0" || m[2] == "0" {
		t.Errorf("USER %q, want numeric uid:gid, not root (runAsNonRoot needs a number)", user)
	}
	if entrypoint != `["/hotrow"]` {
		t.Errorf("ENTRYPOINT %s, want [\"/hotrow\"]", entrypoint)
	}
	if !regexp.MustCompile(`(?m)^image:`).MatchString(makefile) || !strings.Contains(makefile, "-f deploy/Dockerfile") || !strings.Contains(makefile, "--build-arg VERSION=$(VERSION)") {
		t.Error("the Makefile's image target does not build deploy/Dockerfile with the version")
	}
}

// The binary the image holds is static: no interpreter, no shared libraries.
func TestBinaryIsStatic(t *testing.T) {
	f, err := elf.Open(hotrowBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary asks for a dynamic loader: it would not run FROM scratch")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("the binary links %v", libs)
	}
}

// The final stage of deploy/Dockerfile, unchanged, built by buildah from
// the locally built binary (buildah's --build-context build=DIR stands in
// for the build stage, whose golang base image cannot be pulled here), then
// run: the binary prints the stamped version as the image's user.
func TestImageBuildsWithBuildah(t *testing.T) {
	buildah := needTool(t, "buildah", "apt-get install buildah")
	if os.Geteuid() != 0 && !inCI() {
		t.Skip("buildah with the vfs driver and chroot isolation needs root here (or a rootless buildah set-up)")
	}
	certs := "/etc/ssl/certs/ca-certificates.crt"
	if _, err := os.Stat(certs); err != nil {
		if inCI() {
			t.Fatalf("%s: %v (apt-get install ca-certificates)", certs, err)
		}
		t.Skipf("%s missing: apt-get install ca-certificates", certs)
	}
	tmp := t.TempDir()
	ctx := filepath.Join(tmp, "build-stage")
	copyFile(t, hotrowBinary(t), filepath.Join(ctx, "out", "hotrow"), 0o755)
	copyFile(t, certs, filepath.Join(ctx, "etc", "ssl", "certs", "ca-certificates.crt"), 0o644)
	empty := filepath.Join(tmp, "context")
	if err := os.MkdirAll(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	store := []string{"--root", filepath.Join(tmp, "storage"), "--runroot", filepath.Join(tmp, "run"), "--storage-driver", "vfs"}
	bh := func(args ...string) string {
		t.Helper()
		return strings.TrimSpace(run(t, tmp, []string{"BUILDAH_ISOLATION=chroot"}, buildah, append(slices.Clone(store), args...)...))
	}
	const tag = "localhost/hotrow:" + testVersion
	bh("build", "--isolation", "chroot", "--pull=never", "--build-context", "build="+ctx,
		"-f", filepath.Join(deployDir, "Dockerfile"), "-t", tag, empty)

	var image struct {
		OCIv1 struct {
			Config struct {
				User         string
				Entrypoint   []string
				Cmd          []string
				ExposedPorts map[string]struct{}
				Env          []string
			} `json:"config"`
		}
	}
	if err := json.Unmarshal([]byte(bh("inspect", "--type", "image", tag)), &image); err != nil {
		t.Fatal(err)
	}
	cfg := image.OCIv1.Config
	if cfg.User != "65532:65532" || !slices.Equal(cfg.Entrypoint, []string{"/hotrow"}) || !slices.Equal(cfg.Cmd, []string{"serve"}) {
		t.Errorf("image config: user %q entrypoint %v cmd %v", cfg.User, cfg.Entrypoint, cfg.Cmd)
	}
	if _, ok := cfg.ExposedPorts["8080/tcp"]; !ok || !slices.Contains(cfg.Env, "HOTROW_ADDR=:8080") {
		t.Errorf("image config: ports %v env %v, want 8080 and HOTROW_ADDR=:8080", cfg.ExposedPorts, cfg.Env)
	}

	ctr := bh("from", "--pull=never", tag)
	t.Cleanup(func() { run(t, tmp, nil, buildah, append(slices.Clone(store), "rm", ctr)...) })
	root := bh("mount", ctr)
	var files []string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(root, p)
			files = append(files, rel)
		}
		return err
	})
	sort.Strings(files)
	if !slices.Equal(files, []string{"etc/ssl/certs/ca-certificates.crt", "hotrow"}) {
		t.Errorf("image files %v, want only the binary and the CA certificates", files)
	}
	bh("umount", ctr)
	out := bh("run", "--isolation", "chroot", ctr, "--", "/hotrow", "version")
	if out != "hotrow "+testVersion {
		t.Errorf("/hotrow version in the image printed %q, want %q", out, "hotrow "+testVersion)
	}
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
