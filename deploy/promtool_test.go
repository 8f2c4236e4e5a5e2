package deploy

import (
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// ruleFile is the part of a Prometheus rule file these tests read.
type ruleFile struct {
	Groups []struct {
		Name  string `json:"name"`
		Rules []struct {
			Alert       string            `json:"alert"`
			Record      string            `json:"record"`
			Expr        string            `json:"expr"`
			For         string            `json:"for"`
			Labels      map[string]string `json:"labels"`
			Annotations map[string]string `json:"annotations"`
		} `json:"rules"`
	} `json:"groups"`
}

func loadAlerts(t *testing.T) ruleFile {
	t.Helper()
	var rf ruleFile
	if err := yaml.UnmarshalStrict(readFile(t, "prometheus/alerts.yml"), &rf); err != nil {
		t.Fatal(err)
	}
	return rf
}

// alertUnitTests is the part of a promtool unit test file read here.
type alertUnitTests struct {
	Tests []struct {
		Name          string `json:"name"`
		AlertRuleTest []struct {
			Alertname string `json:"alertname"`
			ExpAlerts []any  `json:"exp_alerts"`
		} `json:"alert_rule_test"`
	} `json:"tests"`
}

func TestPromtoolCheckAndTestRules(t *testing.T) {
	promtool := needTool(t, "promtool", "apt-get install prometheus (Debian's package ships promtool)")
	dir := filepath.Join(deployDir, "prometheus")
	out := run(t, dir, nil, promtool, "check", "rules", "alerts.yml")
	t.Log(strings.TrimSpace(out))
	out = run(t, dir, nil, promtool, "test", "rules", "alerts_test.yml")
	if !strings.Contains(out, "SUCCESS") {
		t.Fatalf("promtool test rules:\n%s", out)
	}
}

// Every alert has a unit test in which it fires and one in which it stays
// quiet, a severity, a summary, and a runbook section.
func TestEveryAlertTestedAndDocumented(t *testing.T) {
	rf := loadAlerts(t)
	var ut alertUnitTests
	if err := yaml.Unmarshal(readFile(t, "prometheus/alerts_test.yml"), &ut); err != nil {
		t.Fatal(err)
	}
	fires, quiet := map[string]bool{}, map[string]bool{}
	for _, tc := range ut.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				fires[a.Alertname] = true
			} else {
				quiet[a.Alertname] = true
			}
		}
	}
	runbook := string(readFile(t, "RUNBOOK.md"))
	anchors := markdownAnchors(runbook)
	n := 0
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			n++
			if !fires[r.Alert] {
				t.Errorf("%s: no unit test in which it fires", r.Alert)
			}
			if !quiet[r.Alert] {
				t.Errorf("%s: no unit test in which it stays quiet", r.Alert)
			}
			if s := r.Labels["severity"]; s != "warning" && s != "critical" {
				t.Errorf("%s: severity %q, want warning or critical", r.Alert, s)
			}
			if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("%s: needs a summary and a description", r.Alert)
			}
			want := "deploy/RUNBOOK.md#" + strings.ToLower(r.Alert)
			if r.Annotations["runbook_url"] != want {
				t.Errorf("%s: runbook_url %q, want %q", r.Alert, r.Annotations["runbook_url"], want)
			}
			if !anchors[strings.ToLower(r.Alert)] {
				t.Errorf("%s: RUNBOOK.md has no section titled %s", r.Alert, r.Alert)
			}
		}
	}
	if n < 8 {
		t.Errorf("%d alerts, want at least the 8 of issue #13", n)
	}
}

// markdownAnchors is the set of GitHub-style anchors of a document's headings.
func markdownAnchors(md string) map[string]bool {
	out := map[string]bool{}
	for _, l := range strings.Split(md, "\n") {
		if !strings.HasPrefix(l, "#") {
			continue
		}
		h := strings.ToLower(strings.TrimSpace(strings.TrimLeft(l, "#")))
		var b strings.Builder
		for _, r := range h {
			switch {
			case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_':
				b.WriteRune(r)
			case r == ' ':
				b.WriteRune('-')
			}
		}
		out[b.String()] = true
	}
	return out
}
