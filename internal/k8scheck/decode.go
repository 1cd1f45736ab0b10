package k8scheck

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	componentsv1alpha1 "github.com/dapr/dapr/pkg/apis/components/v1alpha1"
	configurationv1alpha1 "github.com/dapr/dapr/pkg/apis/configuration/v1alpha1"
	resiliencyv1alpha1 "github.com/dapr/dapr/pkg/apis/resiliency/v1alpha1"
	subscriptionsv2alpha1 "github.com/dapr/dapr/pkg/apis/subscriptions/v2alpha1"
	kedav1alpha1 "github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	sjson "sigs.k8s.io/json"
	sigsyaml "sigs.k8s.io/yaml"
)

// Ref names a manifest object the way the findings do: "Deployment orderflow/orders".
type Ref struct {
	APIVersion string
	Kind       string
	Namespace  string
	Name       string
}

func (r Ref) String() string {
	if r.Namespace == "" {
		return r.Kind + " " + r.Name
	}
	return r.Kind + " " + r.Namespace + "/" + r.Name
}

// Object is one decoded manifest object; Value is a pointer to its Go type, e.g. *appsv1.Deployment.
type Object struct {
	Ref   Ref
	Value any
}

// kind is an apiVersion and kind the manifests may contain.
type kind struct{ apiVersion, kind string }

// kinds maps every kind the deployment may contain to the Go type it is decoded into: Kubernetes' own API
// types, Dapr's CRD types (the module daprd 1.18.2 is built from, as go.mod pins it) and KEDA's. Anything else is rejected, so a
// new kind is a deliberate change here, with its own checks.
var kinds = map[kind]func() any{
	{"v1", "Namespace"}:                             func() any { return &corev1.Namespace{} },
	{"v1", "ServiceAccount"}:                        func() any { return &corev1.ServiceAccount{} },
	{"v1", "ConfigMap"}:                             func() any { return &corev1.ConfigMap{} },
	{"v1", "Service"}:                               func() any { return &corev1.Service{} },
	{"apps/v1", "Deployment"}:                       func() any { return &appsv1.Deployment{} },
	{"policy/v1", "PodDisruptionBudget"}:            func() any { return &policyv1.PodDisruptionBudget{} },
	{"networking.k8s.io/v1", "NetworkPolicy"}:       func() any { return &networkingv1.NetworkPolicy{} },
	{"autoscaling/v2", "HorizontalPodAutoscaler"}:   func() any { return &autoscalingv2.HorizontalPodAutoscaler{} },
	{"rbac.authorization.k8s.io/v1", "Role"}:        func() any { return &rbacv1.Role{} },
	{"rbac.authorization.k8s.io/v1", "RoleBinding"}: func() any { return &rbacv1.RoleBinding{} },
	{"dapr.io/v1alpha1", "Component"}:               func() any { return &componentsv1alpha1.Component{} },
	{"dapr.io/v1alpha1", "Configuration"}:           func() any { return &configurationv1alpha1.Configuration{} },
	{"dapr.io/v1alpha1", "Resiliency"}:              func() any { return &resiliencyv1alpha1.Resiliency{} },
	{"dapr.io/v2alpha1", "Subscription"}:            func() any { return &subscriptionsv2alpha1.Subscription{} },
	{"keda.sh/v1alpha1", "ScaledObject"}:            func() any { return &kedav1alpha1.ScaledObject{} },
	{"keda.sh/v1alpha1", "TriggerAuthentication"}:   func() any { return &kedav1alpha1.TriggerAuthentication{} },
}

// forbiddenKinds are kinds that must never be part of the manifests, with the reason.
var forbiddenKinds = map[string]string{
	"Secret": "Secrets must not be part of the manifests (their values would be in git): create them with " +
		"kubectl create secret (k8s/README.md)",
}

// Decode decodes a stream of YAML documents (`---`-separated) strictly: every object must be of a kind the
// package knows, and must not contain a field its Go type lacks nor a key twice. Documents holding only
// comments are skipped. All problems are reported, each naming its object.
func Decode(data []byte) ([]Object, error) {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var objs []Object
	var errs []error
	for i := 1; ; i++ {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading YAML document %d: %w", i, err)
		}
		obj, skip, err := decodeDocument(doc)
		if err != nil {
			errs = append(errs, fmt.Errorf("document %d: %w", i, err))
			continue
		}
		if !skip {
			objs = append(objs, obj)
		}
	}
	return objs, errors.Join(errs...)
}

// header is the part of every object Decode reads before it knows the object's type.
type header struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
}

func decodeDocument(doc []byte) (obj Object, skip bool, err error) {
	// YAMLToJSONStrict rejects a key given twice in a YAML mapping, which a plain conversion would resolve
	// silently in favour of the last one.
	js, err := sigsyaml.YAMLToJSONStrict(doc)
	if err != nil {
		return Object{}, false, err
	}
	if trimmed := bytes.TrimSpace(js); len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) {
		return Object{}, true, nil
	}
	var h header
	if err := json.Unmarshal(js, &h); err != nil {
		return Object{}, false, fmt.Errorf("not a Kubernetes object: %w", err)
	}
	ref := Ref{APIVersion: h.APIVersion, Kind: h.Kind, Namespace: h.Metadata.Namespace, Name: h.Metadata.Name}
	if h.APIVersion == "" || h.Kind == "" || h.Metadata.Name == "" {
		return Object{}, false, fmt.Errorf("%s: an object needs apiVersion, kind and metadata.name", ref)
	}
	if reason, ok := forbiddenKinds[h.Kind]; ok {
		return Object{}, false, fmt.Errorf("%s: %s", ref, reason)
	}
	newValue, ok := kinds[kind{h.APIVersion, h.Kind}]
	if !ok {
		return Object{}, false, fmt.Errorf("%s: unknown kind %s %s: k8scheck knows %s", ref, h.APIVersion, h.Kind, knownKinds())
	}
	value := newValue()
	// sigs.k8s.io/json decodes the way the API server does (case-sensitive field names) and reports each
	// unknown or duplicate field with its path, e.g. `unknown field "spec.template.spec.containers[0].x"`.
	strictErrs, err := sjson.UnmarshalStrict(js, value, sjson.DisallowUnknownFields, sjson.DisallowDuplicateFields)
	if err != nil {
		return Object{}, false, fmt.Errorf("%s: %w", ref, err)
	}
	if len(strictErrs) > 0 {
		msgs := make([]string, len(strictErrs))
		for i, e := range strictErrs {
			msgs[i] = e.Error()
		}
		return Object{}, false, fmt.Errorf("%s: %s", ref, strings.Join(msgs, "; "))
	}
	return Object{Ref: ref, Value: value}, false, nil
}

func knownKinds() string {
	names := make([]string, 0, len(kinds))
	for k := range kinds {
		names = append(names, k.apiVersion+" "+k.kind)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// objectsOf returns the values of type *T among objs, with their refs, in manifest order.
func objectsOf[T any](objs []Object) []typed[T] {
	var out []typed[T]
	for _, o := range objs {
		if v, ok := o.Value.(*T); ok {
			out = append(out, typed[T]{Ref: o.Ref, V: v})
		}
	}
	return out
}

// typed is an object of a known Go type.
type typed[T any] struct {
	Ref Ref
	V   *T
}
