package componentcheck

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"orderflow/internal/component"
)

// Folders of the components tree that are not profiles.
const (
	sharedFolder  = "shared"
	secretsFolder = "secrets"
)

// folder is one directory of Dapr resources: a profile, or the shared folder.
type folder struct {
	name          string
	path          string // as reported in problems, e.g. "components/aws"
	components    []*component.Component
	subscriptions []*subscription
	resiliencies  []*resiliency
}

// subscription is a Subscription document (v1alpha1 or v2alpha1).
type subscription struct {
	file       string
	line       int
	name       string
	pubsub     string
	pubsubLine int
	topic      string
	deadLetter string
	scopes     []string
}

// resiliency is a Resiliency document; only its component targets matter here.
type resiliency struct {
	file    string
	name    string
	targets []target
}

type target struct {
	name string
	line int
}

// loadTree reads root (the components directory): every subfolder but secrets is a folder of resources;
// "shared" is returned separately. Paths in problems are reported as <base of root>/<folder>/<file>.
func loadTree(root string) (profiles []*folder, shared *folder, problems []Problem, err error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, nil, nil, err
	}
	base := filepath.Base(filepath.Clean(root))
	for _, e := range entries {
		if !e.IsDir() || e.Name() == secretsFolder || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		f, probs, err := loadFolder(filepath.Join(root, e.Name()), base+"/"+e.Name(), e.Name())
		if err != nil {
			return nil, nil, nil, err
		}
		problems = append(problems, probs...)
		if e.Name() == sharedFolder {
			shared = f
		} else {
			profiles = append(profiles, f)
		}
	}
	sort.Slice(profiles, func(i, j int) bool { return profiles[i].name < profiles[j].name })
	return profiles, shared, problems, nil
}

func loadFolder(dir, shown, name string) (*folder, []Problem, error) {
	f := &folder{name: name, path: shown}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, err
	}
	var problems []Problem
	for _, e := range entries {
		ext := filepath.Ext(e.Name())
		if e.IsDir() || (ext != ".yaml" && ext != ".yml") {
			continue
		}
		raw, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, nil, err
		}
		problems = append(problems, f.parse(shown+"/"+e.Name(), raw)...)
	}
	return f, problems, nil
}

// parse adds the resources of one (multi-document) YAML file to the folder.
func (f *folder) parse(file string, raw []byte) []Problem {
	var problems []Problem
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return append(problems, Problem{File: file, Message: "not valid YAML: " + err.Error()})
		}
		if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
			continue // an empty document, e.g. a comment before the first "---"
		}
		m := doc.Content[0]
		switch component.Scalar(m, "kind") {
		case "Component":
			c, probs := parseComponent(file, m)
			problems = append(problems, probs...)
			f.components = append(f.components, c)
		case "Subscription":
			f.subscriptions = append(f.subscriptions, parseSubscription(file, m))
		case "Resiliency":
			f.resiliencies = append(f.resiliencies, parseResiliency(file, m))
		}
	}
	return problems
}

func parseComponent(file string, m *yaml.Node) (*component.Component, []Problem) {
	c, unknown := component.Parse(file, m)
	var problems []Problem
	for _, u := range unknown {
		problems = append(problems, Problem{
			File: file, Line: u.Line, Component: c.Name, Key: u.Key,
			Message: fmt.Sprintf("component %q: unknown field %q in %s (Dapr ignores it)", c.Name, u.Key, u.Where),
		})
	}
	return c, problems
}

func parseSubscription(file string, m *yaml.Node) *subscription {
	s := &subscription{file: file, line: m.Line, name: component.Scalar(component.Lookup(m, "metadata"), "name")}
	spec := component.Lookup(m, "spec")
	if n := component.Lookup(spec, "pubsubname"); n != nil {
		s.pubsub, s.pubsubLine = n.Value, n.Line
	}
	s.topic = component.Scalar(spec, "topic")
	s.deadLetter = component.Scalar(spec, "deadLetterTopic")
	if n := component.Lookup(m, "scopes"); n != nil {
		for _, sc := range n.Content {
			s.scopes = append(s.scopes, sc.Value)
		}
	}
	return s
}

func parseResiliency(file string, m *yaml.Node) *resiliency {
	r := &resiliency{file: file, name: component.Scalar(component.Lookup(m, "metadata"), "name")}
	comps := component.Lookup(component.Lookup(component.Lookup(m, "spec"), "targets"), "components")
	if comps != nil && comps.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(comps.Content); i += 2 {
			r.targets = append(r.targets, target{name: comps.Content[i].Value, line: comps.Content[i].Line})
		}
	}
	return r
}
