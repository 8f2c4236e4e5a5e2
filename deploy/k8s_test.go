package deploy

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"
)

// newObject returns an empty typed object for an apiVersion/kind the
// manifests may use; anything else is an error.
func newObject(apiVersion, kind string) (any, error) {
	switch apiVersion + "/" + kind {
	case "v1/Namespace":
		return &corev1.Namespace{}, nil
	case "v1/ServiceAccount":
		return &corev1.ServiceAccount{}, nil
	case "v1/ConfigMap":
		return &corev1.ConfigMap{}, nil
	case "v1/Service":
		return &corev1.Service{}, nil
	case "apps/v1/Deployment":
		return &appsv1.Deployment{}, nil
	case "policy/v1/PodDisruptionBudget":
		return &policyv1.PodDisruptionBudget{}, nil
	case "autoscaling/v2/HorizontalPodAutoscaler":
		return &autoscalingv2.HorizontalPodAutoscaler{}, nil
	case "batch/v1/Job":
		return &batchv1.Job{}, nil
	case "networking.k8s.io/v1/Ingress":
		return &networkingv1.Ingress{}, nil
	}
	return nil, fmt.Errorf("apiVersion %q kind %q: not a type these manifests use", apiVersion, kind)
}

// kustomization is the part of kustomize's Kustomization and Component that
// deploy/k8s uses; decoded strictly, so a misspelt field fails here too.
type kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Namespace  string   `json:"namespace,omitempty"`
	Resources  []string `json:"resources,omitempty"`
	Components []string `json:"components,omitempty"`
	Images     []struct {
		Name    string `json:"name"`
		NewName string `json:"newName,omitempty"`
		NewTag  string `json:"newTag,omitempty"`
		Digest  string `json:"digest,omitempty"`
	} `json:"images,omitempty"`
}

// decodeManifest decodes every document of a YAML file strictly (unknown or
// duplicate fields fail) into its typed Kubernetes object.
func decodeManifest(data []byte) ([]any, error) {
	var objs []any
	for i, doc := range splitYAML(data) {
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal(doc, &tm); err != nil {
			return nil, fmt.Errorf("document %d: %w", i+1, err)
		}
		obj, err := newObject(tm.APIVersion, tm.Kind)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i+1, err)
		}
		if err := yaml.UnmarshalStrict(doc, obj); err != nil {
			return nil, fmt.Errorf("document %d (%s): %w", i+1, tm.Kind, err)
		}
		objs = append(objs, obj)
	}
	return objs, nil
}

// splitYAML splits a multi-document YAML file on its "---" lines, dropping
// documents that hold only comments.
func splitYAML(data []byte) [][]byte {
	var docs [][]byte
	for _, d := range regexp.MustCompile(`(?m)^---[ \t]*$`).Split(string(data), -1) {
		meaningful := false
		for _, l := range strings.Split(d, "\n") {
			if s := strings.TrimSpace(l); s != "" && !strings.HasPrefix(s, "#") {
				meaningful = true
			}
		}
		if meaningful {
			docs = append(docs, []byte(d))
		}
	}
	return docs
}

// manifests is every object under deploy/k8s, by file.
type manifests struct {
	files          map[string][]any // path relative to k8s/ → objects
	kustomizations map[string]kustomization
}

func loadManifests(t *testing.T) *manifests {
	t.Helper()
	m := &manifests{files: map[string][]any{}, kustomizations: map[string]kustomization{}}
	root := filepath.Join(deployDir, "k8s")
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if !strings.HasSuffix(p, ".yaml") {
			return fmt.Errorf("%s: only .yaml files belong in deploy/k8s", rel)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if d.Name() == "kustomization.yaml" {
			var k kustomization
			if err := yaml.UnmarshalStrict(data, &k); err != nil {
				return fmt.Errorf("%s: %w", rel, err)
			}
			m.kustomizations[filepath.Dir(rel)] = k
			return nil
		}
		objs, err := decodeManifest(data)
		if err != nil {
			return fmt.Errorf("%s: %w", rel, err)
		}
		m.files[rel] = objs
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// one returns the only object of type T (failing if there is not exactly one).
func one[T any](t *testing.T, m *manifests) *T {
	t.Helper()
	var found []*T
	for _, objs := range m.files {
		for _, o := range objs {
			if v, ok := o.(*T); ok {
				found = append(found, v)
			}
		}
	}
	if len(found) != 1 {
		var zero T
		t.Fatalf("%d objects of type %T, want 1", len(found), zero)
	}
	return found[0]
}

func all[T any](m *manifests) []*T {
	var found []*T
	for _, objs := range m.files {
		for _, o := range objs {
			if v, ok := o.(*T); ok {
				found = append(found, v)
			}
		}
	}
	return found
}

// Strict decoding is what catches a misspelt field: prove it does.
func TestManifestDecodingIsStrict(t *testing.T) {
	for name, doc := range map[string]string{
		"unknown field":   "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  replica: 3\n",
		"duplicate field": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {A: b}\ndata: {A: c}\n",
		"unknown kind":    "apiVersion: v1\nkind: Pdo\nmetadata: {name: x}\n",
		"wrong type":      "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  replicas: three\n",
	} {
		if _, err := decodeManifest([]byte(doc)); err == nil {
			t.Errorf("%s: decoded without error", name)
		}
	}
	objs, err := decodeManifest([]byte("# comment only\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n---\n# trailing\n"))
	if err != nil || len(objs) != 1 {
		t.Errorf("comment-only documents: %d objects, %v", len(objs), err)
	}
}

// Every manifest decodes strictly into its typed object, sits in the hotrow
// namespace, and is listed in a kustomization (ingress.yaml alone is
// applied on its own, after the load balancer controller).
func TestManifestsDecodeAndAreListed(t *testing.T) {
	m := loadManifests(t)
	if len(m.files) == 0 {
		t.Fatal("no manifests found")
	}
	listed := map[string]bool{}
	for dir, k := range m.kustomizations {
		for _, r := range k.Resources {
			p := filepath.Join(dir, r)
			if _, ok := m.files[p]; !ok {
				t.Errorf("%s/kustomization.yaml lists %s, which is not a manifest here", dir, r)
			}
			listed[p] = true
		}
		for _, c := range k.Components {
			p := filepath.Join(dir, c)
			if ck, ok := m.kustomizations[p]; !ok || ck.Kind != "Component" {
				t.Errorf("%s/kustomization.yaml uses component %s, which is not a Component here", dir, c)
			}
		}
		want := "Kustomization"
		if dir == "image" {
			want = "Component"
		}
		if k.Kind != want {
			t.Errorf("%s/kustomization.yaml: kind %q, want %q", dir, k.Kind, want)
		}
	}
	for p, objs := range m.files {
		if !listed[p] && p != "ingress.yaml" {
			t.Errorf("%s is in no kustomization", p)
		}
		for _, o := range objs {
			meta := o.(metav1.ObjectMetaAccessor).GetObjectMeta()
			if _, isNS := o.(*corev1.Namespace); isNS {
				continue
			}
			if meta.GetNamespace() != "hotrow" {
				t.Errorf("%s: %s in namespace %q, want hotrow", p, meta.GetName(), meta.GetNamespace())
			}
		}
	}
	img := m.kustomizations["image"]
	if len(img.Images) != 1 || img.Images[0].Name != "hotrow" || img.Images[0].NewName == "" || img.Images[0].NewTag == "" {
		t.Errorf("image component: %+v, want one image named hotrow with newName and newTag", img.Images)
	}
	for _, d := range all[appsv1.Deployment](m) {
		for _, c := range d.Spec.Template.Spec.Containers {
			if c.Image != "hotrow" {
				t.Errorf("deployment container %s: image %q, want hotrow (set by the image component)", c.Name, c.Image)
			}
		}
	}
	for _, j := range all[batchv1.Job](m) {
		for _, c := range j.Spec.Template.Spec.Containers {
			if c.Image != "hotrow" {
				t.Errorf("job container %s: image %q, want hotrow", c.Name, c.Image)
			}
		}
	}
}

// configEnvNames are the environment variables hotrow reads, from the
// source of server/config.go (env, envDuration, envInt, envBool).
func configEnvNames(t *testing.T) map[string]bool {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(repoRoot, "server", "config.go"))
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, m := range regexp.MustCompile(`env(?:Duration|Int|Bool)?\("([A-Z][A-Z0-9_]*)"`).FindAllStringSubmatch(string(src), -1) {
		names[m[1]] = true
	}
	if !names["HOTROW_SHUTDOWN_TIMEOUT"] || !names["DSQL_ENDPOINT"] {
		t.Fatalf("found only %v in server/config.go: has the way it reads the environment changed?", names)
	}
	return names
}

// durationSetting is a duration from the ConfigMap, or hotrow's default.
func durationSetting(t *testing.T, cm *corev1.ConfigMap, key string, def time.Duration) time.Duration {
	t.Helper()
	v, ok := cm.Data[key]
	if !ok {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		t.Fatalf("ConfigMap %s=%q: %v", key, v, err)
	}
	return d
}

func TestConfigMapHoldsOnlyHotrowSettings(t *testing.T) {
	m := loadManifests(t)
	cm := one[corev1.ConfigMap](t, m)
	names := configEnvNames(t)
	for k, v := range cm.Data {
		if !names[k] {
			t.Errorf("ConfigMap key %s is not an environment variable hotrow reads (server/config.go)", k)
		}
		if regexp.MustCompile(`SECRET|PASSWORD|TOKEN`).MatchString(k) {
			t.Errorf("ConfigMap key %s looks secret: keep it in the Secret hotrow-secrets", k)
		}
		if v == "" {
			t.Errorf("ConfigMap key %s is empty", k)
		}
	}
	for _, k := range []string{"DSQL_ENDPOINT", "DSQL_USER", "AWS_REGION", "DYNAMODB_TABLE", "HOTROW_SHUTDOWN_TIMEOUT"} {
		if cm.Data[k] == "" {
			t.Errorf("ConfigMap lacks %s", k)
		}
	}
	if cm.Data["DSQL_USER"] == "admin" {
		t.Error("the hubs connect as DSQL admin: use the least-privilege role (admin is for the migrate job)")
	}
}

// checkRestricted checks a pod against the Pod Security Standards'
// "restricted" profile (the namespace enforces it too).
func checkRestricted(t *testing.T, what string, spec corev1.PodSpec) {
	t.Helper()
	if spec.HostNetwork || spec.HostPID || spec.HostIPC {
		t.Errorf("%s: uses host namespaces", what)
	}
	psc := spec.SecurityContext
	if psc == nil {
		t.Fatalf("%s: no pod securityContext", what)
	}
	if psc.SeccompProfile == nil || (psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault && psc.SeccompProfile.Type != corev1.SeccompProfileTypeLocalhost) {
		t.Errorf("%s: seccompProfile must be RuntimeDefault or Localhost", what)
	}
	for _, v := range spec.Volumes {
		if v.HostPath != nil {
			t.Errorf("%s: hostPath volume %s", what, v.Name)
		}
	}
	for _, c := range append(slices.Clone(spec.InitContainers), spec.Containers...) {
		csc := c.SecurityContext
		if csc == nil {
			t.Errorf("%s/%s: no container securityContext", what, c.Name)
			continue
		}
		nonRoot := (csc.RunAsNonRoot != nil && *csc.RunAsNonRoot) || (csc.RunAsNonRoot == nil && psc.RunAsNonRoot != nil && *psc.RunAsNonRoot)
		if !nonRoot {
			t.Errorf("%s/%s: runAsNonRoot is not true", what, c.Name)
		}
		uid := psc.RunAsUser
		if csc.RunAsUser != nil {
			uid = csc.RunAsUser
		}
		if uid == nil || *uid == 0 {
			t.Errorf("%s/%s: runAsUser must be set and not 0 (the image's user is numeric: 65532)", what, c.Name)
		}
		if csc.Privileged != nil && *csc.Privileged {
			t.Errorf("%s/%s: privileged", what, c.Name)
		}
		if csc.AllowPrivilegeEscalation == nil || *csc.AllowPrivilegeEscalation {
			t.Errorf("%s/%s: allowPrivilegeEscalation must be false", what, c.Name)
		}
		if csc.Capabilities == nil || !slices.Contains(csc.Capabilities.Drop, "ALL") {
			t.Errorf("%s/%s: capabilities must drop ALL", what, c.Name)
		} else {
			for _, a := range csc.Capabilities.Add {
				if a != "NET_BIND_SERVICE" {
					t.Errorf("%s/%s: adds capability %s", what, c.Name, a)
				}
			}
		}
		if csc.ReadOnlyRootFilesystem == nil || !*csc.ReadOnlyRootFilesystem {
			t.Errorf("%s/%s: readOnlyRootFilesystem should be true (the hub writes no files)", what, c.Name)
		}
		checkResources(t, what+"/"+c.Name, c.Resources)
	}
}

func checkResources(t *testing.T, what string, r corev1.ResourceRequirements) {
	t.Helper()
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, okReq := r.Requests[name]
		lim, okLim := r.Limits[name]
		if !okReq || !okLim {
			t.Errorf("%s: %s needs both a request and a limit", what, name)
			continue
		}
		if req.Cmp(lim) > 0 {
			t.Errorf("%s: %s request %s above its limit %s", what, name, req.String(), lim.String())
		}
	}
}

func TestDeployment(t *testing.T) {
	m := loadManifests(t)
	d := one[appsv1.Deployment](t, m)
	cm := one[corev1.ConfigMap](t, m)
	spec := d.Spec.Template.Spec
	if len(spec.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(spec.Containers))
	}
	c := spec.Containers[0]

	// The listening port: the container's named port, the hub's address.
	var port int32
	for _, p := range c.Ports {
		if p.Name == "http" {
			port = p.ContainerPort
		}
	}
	if port == 0 {
		t.Fatal("no container port named http")
	}
	if addr := cm.Data["HOTROW_ADDR"]; addr != fmt.Sprintf(":%d", port) {
		t.Errorf("HOTROW_ADDR %q does not listen on the container port %d", addr, port)
	}
	if d.Spec.Template.Annotations["prometheus.io/port"] != fmt.Sprint(port) || d.Spec.Template.Annotations["prometheus.io/path"] != "/metrics" {
		t.Errorf("scrape annotations %v do not point at :%d/metrics", d.Spec.Template.Annotations, port)
	}

	// Probes: readiness on /readyz, liveness on /healthz, on the http port.
	probe := func(name string, p *corev1.Probe, path string) {
		t.Helper()
		if p == nil || p.HTTPGet == nil {
			t.Errorf("%s probe: missing or not httpGet", name)
			return
		}
		if p.HTTPGet.Path != path {
			t.Errorf("%s probe on %s, want %s", name, p.HTTPGet.Path, path)
		}
		if p.HTTPGet.Port != intstr.FromString("http") && p.HTTPGet.Port != intstr.FromInt32(port) {
			t.Errorf("%s probe on port %s, want http", name, p.HTTPGet.Port.String())
		}
	}
	probe("readiness", c.ReadinessProbe, "/readyz")
	probe("liveness", c.LivenessProbe, "/healthz")
	if c.StartupProbe != nil {
		probe("startup", c.StartupProbe, "/healthz")
	}
	// /readyz pings the store for up to 2s: the probe must wait longer.
	if c.ReadinessProbe != nil && c.ReadinessProbe.TimeoutSeconds <= 2 {
		t.Errorf("readiness timeoutSeconds %d: /readyz may take 2s to ping the store", c.ReadinessProbe.TimeoutSeconds)
	}

	// Shutdown: preStop, then SIGTERM and a drain of at most
	// HOTROW_SHUTDOWN_TIMEOUT, all inside the grace period.
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil {
		t.Fatal("no preStop hook")
	}
	var preStop time.Duration
	switch ps := c.Lifecycle.PreStop; {
	case ps.Sleep != nil:
		preStop = time.Duration(ps.Sleep.Seconds) * time.Second
	case ps.Exec != nil:
		t.Error("preStop exec: the image has no shell or sleep binary; use the sleep action")
	}
	shutdown := durationSetting(t, cm, "HOTROW_SHUTDOWN_TIMEOUT", 15*time.Second)
	if spec.TerminationGracePeriodSeconds == nil {
		t.Fatal("terminationGracePeriodSeconds unset")
	}
	grace := time.Duration(*spec.TerminationGracePeriodSeconds) * time.Second
	if grace <= preStop+shutdown {
		t.Errorf("terminationGracePeriodSeconds %v <= preStop %v + HOTROW_SHUTDOWN_TIMEOUT %v: the kubelet would kill a draining hub", grace, preStop, shutdown)
	}

	checkRestricted(t, "deployment", spec)

	// Configuration: the ConfigMap, the token secret from a Secret.
	if len(c.EnvFrom) != 1 || c.EnvFrom[0].ConfigMapRef == nil || c.EnvFrom[0].ConfigMapRef.Name != cm.Name {
		t.Errorf("envFrom %+v, want the ConfigMap %s", c.EnvFrom, cm.Name)
	}
	names := configEnvNames(t)
	for _, e := range c.Env {
		if !names[e.Name] && e.Name != "GOMEMLIMIT" {
			t.Errorf("env %s is not a variable hotrow reads", e.Name)
		}
		if e.Name == "HOTROW_TOKEN_SECRET" && (e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil) {
			t.Error("HOTROW_TOKEN_SECRET must come from a Secret")
		}
	}

	// Identity: the service account carrying the hub's IAM role.
	sa := serviceAccount(t, m, spec.ServiceAccountName)
	if !strings.HasSuffix(sa.Annotations["eks.amazonaws.com/role-arn"], ":role/hotrow-hub") {
		t.Errorf("the hubs' service account %s has role %q, want the hub role", sa.Name, sa.Annotations["eks.amazonaws.com/role-arn"])
	}

	// Rolling updates never go below the current count.
	if ru := d.Spec.Strategy.RollingUpdate; ru == nil || ru.MaxUnavailable == nil || ru.MaxUnavailable.IntValue() != 0 {
		t.Error("rolling update should keep maxUnavailable 0 (surge first, then drain)")
	}
	if !labelsMatch(d.Spec.Selector.MatchLabels, d.Spec.Template.Labels) {
		t.Errorf("selector %v does not select the pod labels %v", d.Spec.Selector.MatchLabels, d.Spec.Template.Labels)
	}
}

func serviceAccount(t *testing.T, m *manifests, name string) *corev1.ServiceAccount {
	t.Helper()
	for _, sa := range all[corev1.ServiceAccount](m) {
		if sa.Name == name {
			arn := sa.Annotations["eks.amazonaws.com/role-arn"]
			if !regexp.MustCompile(`^arn:aws:iam::\d{12}:role/[\w+=,.@-]+$`).MatchString(arn) {
				t.Errorf("service account %s: eks.amazonaws.com/role-arn %q is not an IAM role ARN", name, arn)
			}
			return sa
		}
	}
	t.Fatalf("no service account %q", name)
	return nil
}

// labelsMatch reports whether every selector label is on the object.
func labelsMatch(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func TestServicePDBAndHPA(t *testing.T) {
	m := loadManifests(t)
	d := one[appsv1.Deployment](t, m)
	pod := d.Spec.Template.Labels

	svc := one[corev1.Service](t, m)
	if !labelsMatch(svc.Spec.Selector, pod) {
		t.Errorf("service selector %v does not select the hubs %v", svc.Spec.Selector, pod)
	}
	for _, p := range svc.Spec.Ports {
		if p.TargetPort != intstr.FromString("http") {
			t.Errorf("service port %s targets %s, want the named port http", p.Name, p.TargetPort.String())
		}
	}

	pdb := one[policyv1.PodDisruptionBudget](t, m)
	if pdb.Spec.Selector == nil || !labelsMatch(pdb.Spec.Selector.MatchLabels, pod) {
		t.Errorf("PDB selector does not select the hubs")
	}
	if (pdb.Spec.MaxUnavailable == nil) == (pdb.Spec.MinAvailable == nil) {
		t.Error("PDB needs exactly one of maxUnavailable and minAvailable")
	}
	if pdb.Spec.MaxUnavailable != nil && pdb.Spec.MaxUnavailable.IntValue() < 1 {
		t.Error("PDB maxUnavailable < 1 would block every node drain")
	}

	hpa := one[autoscalingv2.HorizontalPodAutoscaler](t, m)
	ref := hpa.Spec.ScaleTargetRef
	if ref.Kind != "Deployment" || ref.Name != d.Name || ref.APIVersion != "apps/v1" {
		t.Errorf("HPA scales %+v, want the Deployment %s", ref, d.Name)
	}
	if hpa.Spec.MinReplicas == nil || *hpa.Spec.MinReplicas < 2 {
		t.Error("HPA minReplicas below 2: one hub is a single point of failure")
	}
	if hpa.Spec.MaxReplicas < *hpa.Spec.MinReplicas {
		t.Error("HPA maxReplicas below minReplicas")
	}
	if pdb.Spec.MinAvailable != nil && pdb.Spec.MinAvailable.IntValue() >= int(*hpa.Spec.MinReplicas) {
		t.Error("PDB minAvailable leaves no disruption at the HPA's minimum")
	}
	if len(hpa.Spec.Metrics) == 0 {
		t.Error("HPA has no metrics")
	}
	for _, mt := range hpa.Spec.Metrics {
		if mt.Resource != nil && mt.Resource.Target.Type == autoscalingv2.UtilizationMetricType {
			if _, ok := d.Spec.Template.Spec.Containers[0].Resources.Requests[mt.Resource.Name]; !ok {
				t.Errorf("HPA scales on %s utilisation but the container requests no %s", mt.Resource.Name, mt.Resource.Name)
			}
		}
	}
	if d.Spec.Replicas == nil || *d.Spec.Replicas < *hpa.Spec.MinReplicas {
		t.Error("Deployment replicas below the HPA minimum")
	}
}

func TestMigrateJob(t *testing.T) {
	m := loadManifests(t)
	j := one[batchv1.Job](t, m)
	spec := j.Spec.Template.Spec
	if len(spec.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(spec.Containers))
	}
	c := spec.Containers[0]
	if !slices.Equal(c.Args, []string{"migrate"}) {
		t.Errorf("args %v, want [migrate]", c.Args)
	}
	user := ""
	for _, e := range c.Env {
		if e.Name == "DSQL_USER" {
			user = e.Value
		}
	}
	if user != "admin" {
		t.Errorf("the migrate job connects as %q, want admin (DDL)", user)
	}
	if spec.RestartPolicy != corev1.RestartPolicyNever && spec.RestartPolicy != corev1.RestartPolicyOnFailure {
		t.Errorf("restartPolicy %q", spec.RestartPolicy)
	}
	if j.Spec.ActiveDeadlineSeconds == nil {
		t.Error("the migrate job has no activeDeadlineSeconds")
	}
	checkRestricted(t, "migrate job", spec)
	sa := serviceAccount(t, m, spec.ServiceAccountName)
	if !strings.HasSuffix(sa.Annotations["eks.amazonaws.com/role-arn"], ":role/hotrow-migrate") {
		t.Errorf("the migrate job's service account %s has role %q, want the migrate role", sa.Name, sa.Annotations["eks.amazonaws.com/role-arn"])
	}
	if d := one[appsv1.Deployment](t, m); d.Spec.Template.Spec.ServiceAccountName == spec.ServiceAccountName {
		t.Error("the hubs and the migrate job share a service account: the hubs would get DbConnectAdmin")
	}
}

func TestNamespaceEnforcesRestricted(t *testing.T) {
	m := loadManifests(t)
	ns := one[corev1.Namespace](t, m)
	if ns.Name != "hotrow" || ns.Labels["pod-security.kubernetes.io/enforce"] != "restricted" {
		t.Errorf("namespace %s labels %v: want hotrow enforcing the restricted profile", ns.Name, ns.Labels)
	}
	var names []string
	for p := range m.files {
		names = append(names, p)
	}
	sort.Strings(names)
	t.Logf("manifests: %s", strings.Join(names, ", "))
}
