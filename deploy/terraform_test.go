package deploy

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"

	corev1 "k8s.io/api/core/v1"
)

// The Terraform providers cannot be downloaded here, so `terraform
// validate` cannot run: these tests parse the HCL themselves and check what
// matters for hotrow (resources, the TTL attribute, the key schema the code
// uses, least-privilege policies). See README.md for what validate adds.

type tf struct {
	blocks []*hclsyntax.Block
	ctx    *hcl.EvalContext // var.* from the defaults, local.* stand-ins
}

func loadTerraform(t *testing.T) *tf {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(deployDir, "terraform", "*.tf"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no .tf files: %v", err)
	}
	c := &tf{}
	for _, p := range paths {
		src, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		f, diags := hclsyntax.ParseConfig(src, p, hcl.InitialPos)
		if diags.HasErrors() {
			t.Fatalf("%s: %s", p, diags.Error())
		}
		c.blocks = append(c.blocks, f.Body.(*hclsyntax.Body).Blocks...)
	}
	vars := map[string]cty.Value{}
	for _, b := range c.blocks {
		if b.Type != "variable" {
			continue
		}
		if a := b.Body.Attributes["default"]; a != nil {
			v, diags := a.Expr.Value(nil)
			if diags.HasErrors() {
				t.Fatalf("variable %s default: %s", b.Labels[0], diags.Error())
			}
			vars[b.Labels[0]] = v
		} else {
			vars[b.Labels[0]] = cty.StringVal("<" + b.Labels[0] + ">")
		}
	}
	c.ctx = &hcl.EvalContext{Variables: map[string]cty.Value{
		"var":   cty.ObjectVal(vars),
		"local": cty.ObjectVal(map[string]cty.Value{"oidc_issuer": cty.StringVal("<issuer>")}),
	}}
	return c
}

// find returns the blocks of a type whose labels start with labels.
func (c *tf) find(typ string, labels ...string) []*hclsyntax.Block {
	var out []*hclsyntax.Block
	for _, b := range c.blocks {
		if b.Type == typ && len(b.Labels) >= len(labels) && slices.Equal(b.Labels[:len(labels)], labels) {
			out = append(out, b)
		}
	}
	return out
}

func (c *tf) one(t *testing.T, typ string, labels ...string) *hclsyntax.Block {
	t.Helper()
	bs := c.find(typ, labels...)
	if len(bs) != 1 {
		t.Fatalf("%d %s %v blocks, want 1", len(bs), typ, labels)
	}
	return bs[0]
}

// str evaluates a block attribute to a string (literals, var.*, local.*).
func (c *tf) str(t *testing.T, b *hclsyntax.Block, name string) string {
	t.Helper()
	a := b.Body.Attributes[name]
	if a == nil {
		t.Fatalf("%s %v: no attribute %s", b.Type, b.Labels, name)
	}
	v, diags := a.Expr.Value(c.ctx)
	if diags.HasErrors() {
		t.Fatalf("%s %v: %s: %s", b.Type, b.Labels, name, diags.Error())
	}
	if v.Type() == cty.Bool {
		return strconv.FormatBool(v.True())
	}
	return v.AsString()
}

// refs is what a list attribute names: "aws_dsql_cluster.this.arn" for a
// reference, the string itself for a literal.
func (c *tf) refs(t *testing.T, b *hclsyntax.Block, name string) []string {
	t.Helper()
	a := b.Body.Attributes[name]
	if a == nil {
		t.Fatalf("%s %v: no attribute %s", b.Type, b.Labels, name)
	}
	tuple, ok := a.Expr.(*hclsyntax.TupleConsExpr)
	if !ok {
		return []string{c.ref(t, a.Expr)}
	}
	var out []string
	for _, e := range tuple.Exprs {
		out = append(out, c.ref(t, e))
	}
	return out
}

func (c *tf) ref(t *testing.T, e hclsyntax.Expression) string {
	t.Helper()
	if st, ok := e.(*hclsyntax.ScopeTraversalExpr); ok {
		var sb strings.Builder
		for i, step := range st.Traversal {
			switch s := step.(type) {
			case hcl.TraverseRoot:
				sb.WriteString(s.Name)
			case hcl.TraverseAttr:
				sb.WriteString("." + s.Name)
			case hcl.TraverseIndex:
				sb.WriteString("[" + s.Key.GoString() + "]")
			default:
				t.Fatalf("traversal step %d of %T", i, s)
			}
		}
		return sb.String()
	}
	v, diags := e.Value(c.ctx)
	if diags.HasErrors() {
		t.Fatalf("expression at %s: %s", e.Range(), diags.Error())
	}
	return v.AsString()
}

// statement is one statement of an aws_iam_policy_document.
type statement struct {
	effect     string
	actions    []string
	resources  []string
	principals []string
	conditions map[string][]string // "test variable" → values
}

func (c *tf) statements(t *testing.T, doc string) []statement {
	t.Helper()
	var out []statement
	for _, b := range c.one(t, "data", "aws_iam_policy_document", doc).Body.Blocks {
		if b.Type != "statement" {
			t.Fatalf("policy document %s: unexpected block %s", doc, b.Type)
		}
		s := statement{effect: "Allow", conditions: map[string][]string{}}
		if b.Body.Attributes["effect"] != nil {
			s.effect = c.str(t, b, "effect")
		}
		for name := range b.Body.Attributes {
			switch name {
			case "sid", "effect":
			case "actions":
				s.actions = c.refs(t, b, "actions")
			case "resources":
				s.resources = c.refs(t, b, "resources")
			default:
				t.Errorf("policy document %s: attribute %s is not checked here: check it or drop it", doc, name)
			}
		}
		for _, nb := range b.Body.Blocks {
			switch nb.Type {
			case "principals":
				s.principals = append(s.principals, c.str(t, nb, "type")+" "+strings.Join(c.refs(t, nb, "identifiers"), ","))
			case "condition":
				s.conditions[c.str(t, nb, "test")+" "+c.str(t, nb, "variable")] = c.refs(t, nb, "values")
			default:
				t.Errorf("policy document %s: block %s is not checked here", doc, nb.Type)
			}
		}
		out = append(out, s)
	}
	return out
}

// goSource parses one Go file of the hub.
func goSource(t *testing.T, rel string) *ast.File {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(repoRoot, rel), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// cursorStoreFacts reads from rooms/cursors/dynamo/dynamo.go the attribute
// names and the DynamoDB calls the hub makes (the methods of its API
// interface), so the table and the policy follow the code.
func cursorStoreFacts(t *testing.T) (attrs map[string]string, calls []string) {
	t.Helper()
	f := goSource(t, "rooms/cursors/dynamo/dynamo.go")
	attrs = map[string]string{}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.ValueSpec:
			for i, name := range n.Names {
				if i < len(n.Values) && strings.HasPrefix(name.Name, "Attr") {
					if lit, ok := n.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						attrs[name.Name], _ = strconv.Unquote(lit.Value)
					}
				}
			}
		case *ast.TypeSpec:
			if it, ok := n.Type.(*ast.InterfaceType); ok && n.Name.Name == "API" {
				for _, m := range it.Methods.List {
					for _, name := range m.Names {
						calls = append(calls, "dynamodb:"+name.Name)
					}
				}
			}
		}
		return true
	})
	if attrs["AttrRoom"] == "" || attrs["AttrMember"] == "" || attrs["AttrExpiresAt"] == "" || len(calls) == 0 {
		t.Fatalf("could not read the cursor store's attributes %v and calls %v from dynamo.go", attrs, calls)
	}
	sort.Strings(calls)
	return attrs, calls
}

func TestTerraformFormatted(t *testing.T) {
	// `terraform fmt -check` runs in make lint where terraform is installed;
	// hclwrite.Format is the formatter it is built on, so the layout is
	// checked on every machine.
	paths, _ := filepath.Glob(filepath.Join(deployDir, "terraform", "*.tf"))
	for _, p := range paths {
		src, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(hclwrite.Format(src), src) {
			t.Errorf("%s is not formatted: run terraform fmt deploy/terraform", filepath.Base(p))
		}
	}
}

func TestTerraformCursorTable(t *testing.T) {
	c := loadTerraform(t)
	attrs, _ := cursorStoreFacts(t)
	tables := c.find("resource", "aws_dynamodb_table")
	if len(tables) != 1 {
		t.Fatalf("%d DynamoDB tables, want 1", len(tables))
	}
	tb := tables[0]
	if got := c.str(t, tb, "billing_mode"); got != "PAY_PER_REQUEST" {
		t.Errorf("billing_mode %q, want PAY_PER_REQUEST (on demand)", got)
	}
	if got := c.str(t, tb, "hash_key"); got != attrs["AttrRoom"] {
		t.Errorf("hash_key %q, the code's partition key is %q", got, attrs["AttrRoom"])
	}
	if got := c.str(t, tb, "range_key"); got != attrs["AttrMember"] {
		t.Errorf("range_key %q, the code's sort key is %q", got, attrs["AttrMember"])
	}
	defined := map[string]string{}
	var ttl *hclsyntax.Block
	for _, b := range tb.Body.Blocks {
		switch b.Type {
		case "attribute":
			defined[c.str(t, b, "name")] = c.str(t, b, "type")
		case "ttl":
			ttl = b
		}
	}
	want := map[string]string{attrs["AttrRoom"]: "S", attrs["AttrMember"]: "S"}
	if len(defined) != len(want) || defined[attrs["AttrRoom"]] != "S" || defined[attrs["AttrMember"]] != "S" {
		t.Errorf("attribute definitions %v, want exactly the keys %v (DynamoDB refuses unindexed definitions)", defined, want)
	}
	if ttl == nil {
		t.Fatal("no ttl block")
	}
	if got := c.str(t, ttl, "attribute_name"); got != attrs["AttrExpiresAt"] {
		t.Errorf("TTL on %q, the code writes expiry to %q", got, attrs["AttrExpiresAt"])
	}
	if c.str(t, ttl, "enabled") != "true" {
		t.Error("TTL not enabled")
	}
	if got := c.str(t, tb, "name"); got != "hotrow-cursors" {
		t.Errorf("table name %q with the defaults, want hotrow-cursors (deploy/k8s/configmap.yaml)", got)
	}
}

func TestTerraformDSQLCluster(t *testing.T) {
	c := loadTerraform(t)
	cl := c.one(t, "resource", "aws_dsql_cluster")
	if c.str(t, cl, "deletion_protection_enabled") != "true" {
		t.Error("the DSQL cluster is not deletion-protected by default")
	}
	prov := c.one(t, "terraform").Body.Blocks
	found := false
	for _, b := range prov {
		if b.Type == "required_providers" {
			v, diags := b.Body.Attributes["aws"].Expr.Value(nil)
			if diags.HasErrors() {
				t.Fatal(diags.Error())
			}
			found = v.GetAttr("source").AsString() == "hashicorp/aws" && strings.Contains(v.GetAttr("version").AsString(), ">= 6")
		}
	}
	if !found {
		t.Error("required_providers must pin hashicorp/aws >= 6 (aws_dsql_cluster needs 5.100 or later)")
	}
}

func TestTerraformOutputs(t *testing.T) {
	c := loadTerraform(t)
	for _, o := range []string{"region", "dsql_endpoint", "dsql_cluster_arn", "cursor_table", "hub_role_arn", "migrate_role_arn", "ecr_repository_url"} {
		c.one(t, "output", o)
	}
	ep := c.one(t, "output", "dsql_endpoint").Body.Attributes["value"].Expr
	var refs []string
	for _, tr := range ep.Variables() {
		refs = append(refs, tr.RootName())
	}
	if !slices.Contains(refs, "aws_dsql_cluster") {
		t.Error("dsql_endpoint is not built from the cluster")
	}
}

// The hubs may connect (not as admin) and touch the cursor table's items
// with exactly the calls the code makes; only the migrate job may connect as
// admin; nothing is a wildcard; each role trusts only its service account.
func TestTerraformLeastPrivilege(t *testing.T) {
	c := loadTerraform(t)
	_, calls := cursorStoreFacts(t)
	const cluster, table = "aws_dsql_cluster.this.arn", "aws_dynamodb_table.cursors.arn"

	for _, kind := range []string{"aws_iam_policy", "aws_iam_role_policy_attachment", "aws_iam_policy_attachment", "aws_iam_user_policy", "aws_iam_group_policy"} {
		if bs := c.find("resource", kind); len(bs) > 0 {
			t.Errorf("resource %s: only the inline policies checked here may grant rights", kind)
		}
	}
	for _, doc := range c.find("data", "aws_iam_policy_document") {
		for _, s := range c.statements(t, doc.Labels[1]) {
			if s.effect != "Allow" {
				t.Errorf("%s: effect %s", doc.Labels[1], s.effect)
			}
			for _, x := range append(slices.Clone(s.actions), s.resources...) {
				if strings.Contains(x, "*") {
					t.Errorf("%s: wildcard %q", doc.Labels[1], x)
				}
			}
		}
	}

	grants := func(doc string) map[string][]string { // action → resources
		out := map[string][]string{}
		for _, s := range c.statements(t, doc) {
			for _, a := range s.actions {
				out[a] = append(out[a], s.resources...)
			}
		}
		return out
	}
	hub := grants("hub")
	wantHub := map[string][]string{"dsql:DbConnect": {cluster}}
	for _, call := range calls {
		wantHub[call] = []string{table}
	}
	if !mapsEqual(hub, wantHub) {
		t.Errorf("hub policy grants %v, want exactly %v", hub, wantHub)
	}
	migrate := grants("migrate")
	if !mapsEqual(migrate, map[string][]string{"dsql:DbConnectAdmin": {cluster}}) {
		t.Errorf("migrate policy grants %v, want dsql:DbConnectAdmin on the cluster only", migrate)
	}

	// Each policy on its own role, each role trusting its own account.
	for role, sa := range map[string]string{"hub": "hotrow", "migrate": "hotrow-migrate"} {
		r := c.one(t, "resource", "aws_iam_role", role)
		if got := c.ref(t, r.Body.Attributes["assume_role_policy"].Expr); got != "data.aws_iam_policy_document."+role+"_trust.json" {
			t.Errorf("role %s trusts %s", role, got)
		}
		p := c.one(t, "resource", "aws_iam_role_policy", role)
		if got := c.ref(t, p.Body.Attributes["role"].Expr); got != "aws_iam_role."+role+".id" {
			t.Errorf("policy %s is attached to %s", role, got)
		}
		if got := c.ref(t, p.Body.Attributes["policy"].Expr); got != "data.aws_iam_policy_document."+role+".json" {
			t.Errorf("role %s gets %s", role, got)
		}
		trust := c.statements(t, role+"_trust")
		if len(trust) != 1 {
			t.Fatalf("%s_trust: %d statements, want 1", role, len(trust))
		}
		s := trust[0]
		if !slices.Equal(s.actions, []string{"sts:AssumeRoleWithWebIdentity"}) {
			t.Errorf("%s_trust actions %v", role, s.actions)
		}
		if !slices.Equal(s.principals, []string{"Federated data.aws_iam_openid_connect_provider.eks.arn"}) {
			t.Errorf("%s_trust principals %v, want the cluster's OIDC provider", role, s.principals)
		}
		wantSub := "system:serviceaccount:hotrow:" + sa
		if got := s.conditions["StringEquals <issuer>:sub"]; !slices.Equal(got, []string{wantSub}) {
			t.Errorf("%s_trust sub %v, want [%s]", role, got, wantSub)
		}
		if got := s.conditions["StringEquals <issuer>:aud"]; !slices.Equal(got, []string{"sts.amazonaws.com"}) {
			t.Errorf("%s_trust aud %v", role, got)
		}
	}
}

// The names the manifests use are the ones Terraform creates (defaults).
func TestTerraformMatchesManifests(t *testing.T) {
	c := loadTerraform(t)
	m := loadManifests(t)
	for role, sa := range map[string]string{"hub": "hotrow", "migrate": "hotrow-migrate"} {
		name := c.str(t, c.one(t, "resource", "aws_iam_role", role), "name")
		acct := serviceAccount(t, m, sa)
		if !strings.HasSuffix(acct.Annotations["eks.amazonaws.com/role-arn"], ":role/"+name) {
			t.Errorf("service account %s names role %s, Terraform creates %s", sa, acct.Annotations["eks.amazonaws.com/role-arn"], name)
		}
		if acct.Namespace != c.str(t, c.one(t, "variable", "namespace"), "default") {
			t.Errorf("service account %s in namespace %s, the trust policy names another", sa, acct.Namespace)
		}
	}
	cm := one[corev1.ConfigMap](t, m)
	table := c.str(t, c.one(t, "resource", "aws_dynamodb_table"), "name")
	if cm.Data["DYNAMODB_TABLE"] != table {
		t.Errorf("ConfigMap DYNAMODB_TABLE %q, Terraform creates %q", cm.Data["DYNAMODB_TABLE"], table)
	}
}

func mapsEqual(a, b map[string][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}
