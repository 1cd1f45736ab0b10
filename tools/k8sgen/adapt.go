package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"orderflow/internal/k8scheck"
)

// The local overlay's in-cluster backends (k8s/overlays/local): the Redis Service and the Kubernetes Secret
// holding its password. The card simulator is reached through its own Service, named after its app id.
const (
	redisAddress        = "redis:6379"
	redisPasswordSecret = "redis-password"
	// outboxRedisDB keeps the e-mails and labels the output bindings write apart from the state and streams
	// in database 0.
	outboxRedisDB = "1"
	// kubernetesSecretStore is the name of daprd's built-in Kubernetes secret store. A component naming it in
	// auth.secretStore has its secretKeyRefs resolved by the Dapr operator from the namespace's Secrets.
	kubernetesSecretStore = "kubernetes"
)

// loopback matches an address on the developer's machine, which in a pod would be the pod itself.
var loopback = regexp.MustCompile(`(127\.0\.0\.1|localhost):(\d+)`)

// adaptForCluster rewrites the local profile (components/redis), written for processes on a developer's
// machine, for pods in the local overlay's cluster:
//
//   - secretstores.local.file becomes secretstores.kubernetes under the same name: a pod has no checkout of
//     components/secrets/local.json; the values are Kubernetes Secrets created with kubectl.
//   - bindings.localstorage becomes bindings.redis under the same name: a pod's files are read-only and
//     vanish with it, so the documents become Redis keys (database 1) named by the "key" metadata the apps
//     send along with "fileName".
//   - secretKeyRefs that named the file store are resolved by the Dapr operator instead
//     (auth.secretStore: kubernetes), so no app needs to read Secrets through the API server.
//   - addresses on 127.0.0.1 point at the in-cluster Services: 6379 at Redis, an app's port at that app.
//
// Comments are dropped (they describe the machine setup); each file's header lists what changed.
func adaptForCluster(p *k8scheck.Project, files []sourceFile) ([]sourceFile, error) {
	docs := make([][]*yaml.Node, len(files))
	fileStores := map[string]bool{}
	for i, f := range files {
		d, err := parseDocuments(f.data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.path, err)
		}
		docs[i] = d
		for _, doc := range d {
			if scalarAt(doc, "spec", "type") == "secretstores.local.file" {
				fileStores[scalarAt(doc, "metadata", "name")] = true
			}
		}
	}
	services := map[string]string{"6379": redisAddress}
	for _, a := range p.Apps {
		services[strconv.Itoa(a.Port)] = a.ID + ":" + strconv.Itoa(a.Port)
	}

	out := make([]sourceFile, len(files))
	for i, f := range files {
		var notes []string
		for _, doc := range docs[i] {
			n, err := adaptComponent(doc, fileStores, services)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", f.path, err)
			}
			notes = append(notes, n...)
			stripComments(doc)
		}
		data, err := encodeDocuments(docs[i])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.path, err)
		}
		f.data, f.notes = data, append([]string{"Adapted for pods in the local overlay's cluster:"}, indent(notes)...)
		out[i] = f
	}
	return out, nil
}

// adaptComponent rewrites one document in place and says what it changed.
func adaptComponent(doc *yaml.Node, fileStores map[string]bool, services map[string]string) ([]string, error) {
	kind, name := scalarAt(doc, "kind"), scalarAt(doc, "metadata", "name")
	if kind != "Component" {
		return nil, fmt.Errorf("%s %q: a profile folder holds Dapr Components only", kind, name)
	}
	root := doc.Content[0]
	spec := mapping(root, "spec")
	var notes []string
	switch typ := scalarAt(doc, "spec", "type"); typ {
	case "secretstores.local.file":
		setScalar(spec, "type", "secretstores.kubernetes")
		setNode(spec, "metadata", &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle})
		notes = append(notes, fmt.Sprintf("%s: %s -> secretstores.kubernetes (the values are Kubernetes Secrets)", name, typ))
	case "bindings.localstorage":
		setScalar(spec, "type", "bindings.redis")
		setNode(spec, "metadata", &yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{
			nameValue("redisHost", redisAddress),
			nameSecret("redisPassword", redisPasswordSecret),
			nameValue("redisDB", outboxRedisDB),
		}})
		setNode(root, "auth", &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{
			plain("secretStore"), plain(kubernetesSecretStore),
		}})
		notes = append(notes, fmt.Sprintf("%s: %s -> bindings.redis (documents become keys in Redis database %s)", name, typ, outboxRedisDB))
	}
	if store := scalarAt(doc, "auth", "secretStore"); fileStores[store] {
		setScalar(mapping(root, "auth"), "secretStore", kubernetesSecretStore)
		notes = append(notes, fmt.Sprintf("%s: secretKeyRefs resolved from Kubernetes Secrets (auth.secretStore: %s)", name, kubernetesSecretStore))
	}
	for _, item := range sequence(spec, "metadata") {
		value := mappingValue(item, "value")
		if value == nil || !loopback.MatchString(value.Value) {
			continue
		}
		var err error
		rewritten := loopback.ReplaceAllStringFunc(value.Value, func(addr string) string {
			port := loopback.FindStringSubmatch(addr)[2]
			svc, ok := services[port]
			if !ok && err == nil {
				err = fmt.Errorf("component %q, %s: no in-cluster Service for %s (known: Redis on 6379 and dapr.yaml's app ports)",
					name, scalarValue(item, "name"), addr)
			}
			return svc
		})
		if err != nil {
			return nil, err
		}
		notes = append(notes, fmt.Sprintf("%s: %s %s -> %s", name, scalarValue(item, "name"), value.Value, rewritten))
		value.Value = rewritten
	}
	return notes, nil
}

// --- yaml.v3 helpers -------------------------------------------------------------------------------------

func parseDocuments(data []byte) ([]*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []*yaml.Node
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		if len(doc.Content) == 1 && doc.Content[0].Kind == yaml.MappingNode {
			docs = append(docs, &doc)
		}
	}
}

func encodeDocuments(docs []*yaml.Node) ([]byte, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	for _, d := range docs {
		if err := enc.Encode(d); err != nil {
			return nil, err
		}
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func stripComments(n *yaml.Node) {
	n.HeadComment, n.LineComment, n.FootComment = "", "", ""
	for _, c := range n.Content {
		stripComments(c)
	}
}

// mappingValue returns the value of key in mapping m, or nil.
func mappingValue(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// mapping returns the mapping under key, creating it when absent.
func mapping(m *yaml.Node, key string) *yaml.Node {
	if v := mappingValue(m, key); v != nil {
		return v
	}
	v := &yaml.Node{Kind: yaml.MappingNode}
	setNode(m, key, v)
	return v
}

func sequence(m *yaml.Node, key string) []*yaml.Node {
	if v := mappingValue(m, key); v != nil && v.Kind == yaml.SequenceNode {
		return v.Content
	}
	return nil
}

func setNode(m *yaml.Node, key string, v *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content[i+1] = v
			return
		}
	}
	m.Content = append(m.Content, plain(key), v)
}

func setScalar(m *yaml.Node, key, value string) { setNode(m, key, plain(value)) }

func scalarValue(m *yaml.Node, key string) string {
	if v := mappingValue(m, key); v != nil && v.Kind == yaml.ScalarNode {
		return v.Value
	}
	return ""
}

// scalarAt returns the scalar at a path of mapping keys below a document node, or "".
func scalarAt(doc *yaml.Node, keys ...string) string {
	n := doc.Content[0]
	for _, k := range keys[:len(keys)-1] {
		if n = mappingValue(n, k); n == nil {
			return ""
		}
	}
	return scalarValue(n, keys[len(keys)-1])
}

func plain(v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v} }

func quoted(v string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v, Style: yaml.DoubleQuotedStyle}
}

func nameValue(name, value string) *yaml.Node {
	v := plain(value)
	if _, err := strconv.Atoi(value); err == nil {
		v = quoted(value) // Dapr metadata values are strings
	}
	return &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{plain("name"), plain(name), plain("value"), v}}
}

func nameSecret(name, secret string) *yaml.Node {
	ref := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{plain("name"), plain(secret), plain("key"), plain(secret)}}
	return &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{plain("name"), plain(name), plain("secretKeyRef"), ref}}
}

func indent(lines []string) []string {
	sort.Strings(lines)
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = "  " + strings.TrimSpace(l)
	}
	return out
}
