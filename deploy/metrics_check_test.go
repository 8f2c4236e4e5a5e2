package deploy

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/prometheus/promql/parser"
)

// grafanaBuiltins are Grafana's interval variables, replaced by a duration
// before parsing (Grafana does the same at query time).
var grafanaBuiltins = strings.NewReplacer("${__rate_interval}", "1m", "$__rate_interval", "1m",
	"${__interval}", "1m", "$__interval", "1m", "${__range}", "1h", "$__range", "1h")

// metricNames parses a PromQL expression and returns every metric it names.
// A selector without a metric name is an error: it would match anything.
func metricNames(expr string) ([]string, error) {
	node, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
	if err != nil {
		return nil, err
	}
	var names []string
	var bad error
	parser.Inspect(node, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			if vs.Name == "" {
				bad = fmt.Errorf("selector %s names no metric", vs)
			}
			names = append(names, vs.Name)
		}
		return nil
	})
	return names, bad
}

// exported reports whether a name is a family the hub exported, resolving a
// histogram's _bucket, _sum and _count series to its family.
func exported(name string, fams map[string]*dto.MetricFamily) bool {
	if _, ok := fams[name]; ok {
		return true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		base, ok := strings.CutSuffix(name, suffix)
		if !ok {
			continue
		}
		if f, ok := fams[base]; ok {
			switch f.GetType() {
			case dto.MetricType_HISTOGRAM:
				return true
			case dto.MetricType_SUMMARY:
				return suffix != "_bucket"
			}
		}
	}
	return false
}

// family is the family a series name belongs to.
func family(name string, fams map[string]*dto.MetricFamily) string {
	if _, ok := fams[name]; ok {
		return name
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok {
			if _, ok := fams[base]; ok {
				return base
			}
		}
	}
	return name
}

// dashboard is the part of a Grafana dashboard the checks read.
type dashboard struct {
	UID        string `json:"uid"`
	Title      string `json:"title"`
	Templating struct {
		List []struct {
			Name  string `json:"name"`
			Type  string `json:"type"`
			Query string `json:"query"`
		} `json:"list"`
	} `json:"templating"`
	Panels []struct {
		ID         int    `json:"id"`
		Type       string `json:"type"`
		Title      string `json:"title"`
		Datasource *struct {
			Type string `json:"type"`
			UID  string `json:"uid"`
		} `json:"datasource"`
		GridPos struct{ H, W, X, Y int } `json:"gridPos"`
		Targets []struct {
			RefID string `json:"refId"`
			Expr  string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
}

func loadDashboard(t *testing.T) dashboard {
	t.Helper()
	var d dashboard
	if err := json.Unmarshal(readFile(t, "grafana/hotrow.json"), &d); err != nil {
		t.Fatal(err)
	}
	return d
}

// checkDashboard: every panel's queries parse and name only families the
// hub exported, and every hotrow family has a panel.
func checkDashboard(t *testing.T, fams map[string]*dto.MetricFamily) {
	d := loadDashboard(t)
	if d.UID == "" || d.Title == "" {
		t.Error("the dashboard needs a uid and a title")
	}
	if len(d.Templating.List) != 1 || d.Templating.List[0].Type != "datasource" || d.Templating.List[0].Query != "prometheus" {
		t.Errorf("templating %+v: want the one Prometheus data source variable", d.Templating.List)
	}
	used := map[string]bool{}
	ids := map[int]bool{}
	queries := 0
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d twice", p.ID)
		}
		ids[p.ID] = true
		if p.GridPos.W == 0 || p.GridPos.H == 0 || p.GridPos.X+p.GridPos.W > 24 {
			t.Errorf("panel %q: gridPos %+v", p.Title, p.GridPos)
		}
		if p.Type == "row" {
			continue
		}
		if p.Datasource == nil || p.Datasource.UID != "${datasource}" {
			t.Errorf("panel %q does not use the datasource variable", p.Title)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			queries++
			expr := grafanaBuiltins.Replace(tg.Expr)
			if strings.Contains(expr, "$") {
				t.Errorf("panel %q %s: unknown variable in %q", p.Title, tg.RefID, tg.Expr)
				continue
			}
			names, err := metricNames(expr)
			if err != nil {
				t.Errorf("panel %q %s: %v\n  %s", p.Title, tg.RefID, err, tg.Expr)
				continue
			}
			for _, n := range names {
				if !exported(n, fams) {
					t.Errorf("panel %q %s: %s is not a metric the hub exports", p.Title, tg.RefID, n)
				}
				used[family(n, fams)] = true
			}
		}
	}
	for n := range fams {
		if strings.HasPrefix(n, "hotrow_") && !used[n] {
			t.Errorf("%s is exported but on no panel", n)
		}
	}
	t.Logf("%d panels, %d queries", len(d.Panels), queries)
}

// checkAlertMetrics: every alert parses and names only exported families.
func checkAlertMetrics(t *testing.T, fams map[string]*dto.MetricFamily) {
	rf := loadAlerts(t)
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			names, err := metricNames(r.Expr)
			if err != nil {
				t.Errorf("%s: %v", r.Alert, err)
				continue
			}
			for _, n := range names {
				if !exported(n, fams) {
					t.Errorf("%s: %s is not a metric the hub exports", r.Alert, n)
				}
			}
		}
	}
}

// The checks themselves catch what they are for.
func TestMetricChecksCatchMistakes(t *testing.T) {
	fams := map[string]*dto.MetricFamily{
		"hotrow_txn_duration_seconds": {Type: dto.MetricType_HISTOGRAM.Enum()},
		"hotrow_connections":          {Type: dto.MetricType_GAUGE.Enum()},
	}
	if _, err := metricNames("sum(rate(hotrow_connections[5m])"); err == nil {
		t.Error("an unbalanced query parsed")
	}
	if _, err := metricNames(`sum({job="x"})`); err == nil {
		t.Error("a selector without a metric name passed")
	}
	names, err := metricNames(`histogram_quantile(0.99, sum by (le) (rate(hotrow_txn_duration_seconds_bucket[5m]))) and on (instance) hotrow_connections`)
	if err != nil || !slices.Equal(names, []string{"hotrow_txn_duration_seconds_bucket", "hotrow_connections"}) {
		t.Errorf("names %v %v", names, err)
	}
	for name, want := range map[string]bool{
		"hotrow_txn_duration_seconds_bucket": true,
		"hotrow_txn_duration_seconds_count":  true,
		"hotrow_connections":                 true,
		"hotrow_connections_count":           false, // a gauge has no _count
		"hotrow_txn_duration_seconds_total":  false,
		"hotrow_sockets":                     false,
	} {
		if exported(name, fams) != want {
			t.Errorf("exported(%s) = %v, want %v", name, !want, want)
		}
	}
	if regexp.MustCompile(`\$`).MatchString(grafanaBuiltins.Replace("rate(x[$__rate_interval])")) {
		t.Error("$__rate_interval not replaced")
	}
}
