package archtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
)

// Package is one package of the module as `go list -json` describes it.
type Package struct {
	ImportPath   string
	Imports      []string // its own code's direct imports
	Deps         []string // everything its own code depends on, directly or not
	TestImports  []string // direct imports of its package-internal _test.go files
	XTestImports []string // direct imports of its external (package x_test) test files
	Error        *struct{ Err string }
}

// Load lists every package of the module pattern (say "hotrow/...") with
// the go command goBin, run in dir (the module's root or below).
func Load(ctx context.Context, goBin, dir, pattern string) ([]Package, error) {
	cmd := exec.CommandContext(ctx, goBin, "list", "-e",
		"-json=ImportPath,Imports,Deps,TestImports,XTestImports,Error", pattern)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list %s: %w: %s", pattern, err, stderr.Bytes())
	}
	var pkgs []Package
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p Package
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("reading go list's output: %w", err)
		}
		if p.Error != nil {
			return nil, fmt.Errorf("go list: package %s: %s", p.ImportPath, p.Error.Err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) == 0 {
		return nil, fmt.Errorf("go list %s found no packages", pattern)
	}
	return pkgs, nil
}

// Violation is one forbidden arrow.
type Violation struct {
	From, To string
	Via      []string // the import chain from From to To, when not direct
	Test     bool     // the import is in From's _test.go files
	Rule     string
}

func (v Violation) String() string {
	from := v.From
	if v.Test {
		from += " (its _test.go files)"
	}
	via := ""
	if len(v.Via) > 2 {
		via = " (through " + strings.Join(v.Via, " -> ") + ")"
	}
	return fmt.Sprintf("forbidden import %s -> %s%s: breaks the rule %q (README, \"How it is built\")",
		from, v.To, via, v.Rule)
}

// Check lists every import of pkgs that breaks one of rules, in a stable
// order.
func Check(pkgs []Package, rules []Rule) []Violation {
	imports := map[string][]string{}
	for _, p := range pkgs {
		imports[p.ImportPath] = p.Imports
	}
	var out []Violation
	for _, r := range rules {
		for _, p := range pkgs {
			if !matchAny(r.From, p.ImportPath) || matchAny(r.Except, p.ImportPath) {
				continue
			}
			for _, d := range p.Deps {
				if r.forbids(d) && (slices.Contains(p.Imports, d) || !matchAny(r.AllowIndirect, d)) {
					out = append(out, Violation{From: p.ImportPath, To: d, Via: chain(imports, p.ImportPath, d), Rule: r.Name})
				}
			}
			var tests []string
			for _, d := range slices.Concat(p.TestImports, p.XTestImports) {
				if d != p.ImportPath && !slices.Contains(tests, d) && r.forbids(d) && !matchAny(r.TestsMay, d) {
					tests = append(tests, d)
					out = append(out, Violation{From: p.ImportPath, To: d, Test: true, Rule: r.Name})
				}
			}
		}
	}
	return out
}

func (r Rule) forbids(path string) bool {
	return matchAny(r.Forbid, path) && !matchAny(r.Allow, path)
}

func matchAny(patterns []string, path string) bool {
	for _, p := range patterns {
		if base, ok := strings.CutSuffix(p, "/..."); ok {
			if path == base || strings.HasPrefix(path, base+"/") {
				return true
			}
		} else if path == p {
			return true
		}
	}
	return false
}

// chain is a shortest import chain from one package to another, through
// the packages of imports (breadth first); nil if there is none.
func chain(imports map[string][]string, from, to string) []string {
	prev := map[string]string{from: ""}
	queue := []string{from}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, q := range imports[p] {
			if _, seen := prev[q]; seen {
				continue
			}
			prev[q] = p
			if q == to {
				var path []string
				for n := to; n != ""; n = prev[n] {
					path = append(path, n)
				}
				slices.Reverse(path)
				return path
			}
			queue = append(queue, q)
		}
	}
	return nil
}
