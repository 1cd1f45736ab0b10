// Package k8scheck validates orderflow's Kubernetes deployment (k8s/): it renders every kustomize overlay
// with the kustomize Go API, exactly as `kubectl apply -k` would, decodes each object strictly into the
// official Kubernetes, Dapr and KEDA Go types (an unknown field, a duplicate key or a kind the package does
// not know fails), and then checks that the result agrees with the rest of the repository: the app ids,
// ports and variables of dapr.yaml, the topics each app subscribes to in components/shared/subscriptions.yaml,
// the component names the apps' code uses, and the platform's rules for probes, resources, security
// contexts, sidecar annotations, autoscaling and network policies.
//
// Its tests run in `make test` (`go test ./internal/k8scheck/`); every finding names the object and the
// problem, e.g. `ScaledObject orderflow/payments: trigger 1 "stock-reserved" (redis-streams): stream: watches
// topic "order.placed", which payments does not subscribe to`.
package k8scheck
