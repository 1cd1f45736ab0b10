// Package component reads Dapr Component manifests (components/<profile>/*.yaml). It is the one reader of
// their fields: make run's preflight finds the brokers and stores in them, componentcheck holds them to
// daprd's catalog. The launcher's isolation and k8sgen rewrite the documents in place, and k8scheck decodes
// Dapr's own API type, so those read the YAML their own way.
package component

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Component is a Component document, with the lines of its parts for messages.
type Component struct {
	File string
	Line int

	APIVersion    string
	Name          string
	Type, Version string
	TypeLine      int
	Metadata      []Item
	// SecretStore is auth.secretStore, the store the secretKeyRefs name.
	SecretStore     string
	SecretStoreLine int
	Scopes          []string
	ScopesLine      int
}

// Item is one entry of spec.metadata.
type Item struct {
	Name     string
	Line     int
	HasValue bool
	Value    string
	// SecretKeyRef is set when the value comes from the component's secret store.
	SecretKeyRef *SecretKeyRef
	EnvRef       string
}

// SecretKeyRef names a secret of the component's secret store.
type SecretKeyRef struct{ Name, Key string }

// UnknownField is a key the Component's schema does not have: Dapr ignores it, so it is most likely misspelt.
type UnknownField struct {
	Key  string
	Line int
	// Where names the mapping that holds it, e.g. "spec" or `metadata "redisHost"`.
	Where string
}

// Fields of a Component manifest (dapr@v1.18.2 pkg/apis/components/v1alpha1 and pkg/apis/common), so that
// a misspelt field (spec.metdata, secretKeyref) is reported rather than silently ignored.
var (
	componentFields = []string{"apiVersion", "kind", "metadata", "spec", "auth", "scopes"}
	objectMetaField = []string{"name", "namespace", "labels", "annotations"}
	specFields      = []string{"type", "version", "ignoreErrors", "metadata", "initTimeout"}
	authFields      = []string{"secretStore"}
	itemFields      = []string{"name", "value", "secretKeyRef", "envRef"}
	secretRefFields = []string{"name", "key"}
)

// Parse reads the Component document m, a mapping node of file, and lists the fields Dapr would ignore.
func Parse(file string, m *yaml.Node) (*Component, []UnknownField) {
	c := &Component{File: file, Line: m.Line, APIVersion: Scalar(m, "apiVersion")}
	c.Name = Scalar(Lookup(m, "metadata"), "name")
	var unknownFields []UnknownField
	unknown := func(n *yaml.Node, where string, allowed []string) {
		for _, k := range unknownKeys(n, allowed) {
			unknownFields = append(unknownFields, UnknownField{Key: k.Value, Line: k.Line, Where: where})
		}
	}
	unknown(m, "the Component", componentFields)
	unknown(Lookup(m, "metadata"), "metadata", objectMetaField)
	spec := Lookup(m, "spec")
	unknown(spec, "spec", specFields)
	if n := Lookup(spec, "type"); n != nil {
		c.Type, c.TypeLine = n.Value, n.Line
	}
	c.Version = Scalar(spec, "version")
	if auth := Lookup(m, "auth"); auth != nil {
		unknown(auth, "auth", authFields)
		if n := Lookup(auth, "secretStore"); n != nil {
			c.SecretStore, c.SecretStoreLine = n.Value, n.Line
		}
	}
	if n := Lookup(m, "scopes"); n != nil {
		c.ScopesLine = n.Line
		for _, s := range n.Content {
			c.Scopes = append(c.Scopes, s.Value)
		}
	}
	if md := Lookup(spec, "metadata"); md != nil {
		for _, item := range md.Content {
			mi := Item{Name: Scalar(item, "name"), Line: item.Line, EnvRef: Scalar(item, "envRef")}
			unknown(item, fmt.Sprintf("metadata %q", mi.Name), itemFields)
			if v := Lookup(item, "value"); v != nil {
				mi.HasValue, mi.Value = true, v.Value
			}
			if ref := Lookup(item, "secretKeyRef"); ref != nil {
				unknown(ref, fmt.Sprintf("the secretKeyRef of %q", mi.Name), secretRefFields)
				mi.SecretKeyRef = &SecretKeyRef{Name: Scalar(ref, "name"), Key: Scalar(ref, "key")}
			}
			c.Metadata = append(c.Metadata, mi)
		}
	}
	return c, unknownFields
}

// ReadFile reads the Component documents of a (multi-document) YAML file; other kinds are skipped.
func ReadFile(path string) ([]*Component, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []*Component
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if m := document(&doc); m != nil && Scalar(m, "kind") == "Component" {
			c, _ := Parse(path, m)
			out = append(out, c)
		}
	}
}

// document is the mapping at the root of a decoded document, or nil for an empty document (e.g. a comment
// before the first "---").
func document(doc *yaml.Node) *yaml.Node {
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil
	}
	return doc.Content[0]
}

// Item returns the metadata item named key; Dapr matches metadata names case-insensitively.
func (c *Component) Item(key string) (Item, bool) {
	for _, it := range c.Metadata {
		if strings.EqualFold(it.Name, key) {
			return it, true
		}
	}
	return Item{}, false
}

// lookup returns the value of key in mapping n, or nil.
func Lookup(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// Scalar returns the scalar value of key in mapping n, or "".
func Scalar(n *yaml.Node, key string) string {
	if v := Lookup(n, key); v != nil && v.Kind == yaml.ScalarNode {
		return v.Value
	}
	return ""
}

// unknownKeys returns the key nodes of mapping n that are not in allowed.
func unknownKeys(n *yaml.Node, allowed []string) []*yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	var out []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; !slices.Contains(allowed, k.Value) {
			out = append(out, k)
		}
	}
	return out
}
