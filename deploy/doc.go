// Package deploy holds the checks of hotrow's deployment files: the
// container image (Dockerfile), the Kubernetes manifests (k8s/), the
// infrastructure as code (terraform/), the Prometheus alerts (prometheus/)
// and the Grafana dashboard (grafana/). It is a module of its own so that
// the Kubernetes, Prometheus and HCL libraries the checks need never reach
// the hub's binary. Everything is in its tests; see README.md.
package deploy
