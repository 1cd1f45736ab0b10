package launcher

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
)

// Isolation lets several runs share one set of brokers and stores without seeing each other, which is what
// the integration tests need: every app id gets a suffix (so state keys, prefixed with the app id, and
// consumer groups, named after it, are unique), every topic gets a prefix, and chosen component metadata can be
// overridden (a test's own database, its own output folder). The run's resources are rendered into Dir from the
// project's real component files; nothing else about them changes.
type Isolation struct {
	Suffix      string
	TopicPrefix string
	// Overrides maps component name → metadata key → value. Overriding a key that no component defines is an
	// error, so a test cannot silently override nothing.
	Overrides map[string]map[string]string
	// ExtraScopes lets more apps (run-file ids) load a component, e.g. a test's event spy on the pub/sub.
	ExtraScopes map[string][]string
	Dir         string
}

// AppID is the isolated id of app.
func (iso Isolation) AppID(app string) string {
	if iso.Suffix == "" {
		return app
	}
	return app + "-" + iso.Suffix
}

// render copies the YAML resources under paths into iso.Dir, rewritten for isolation, and returns the one
// directory that replaces them.
func (iso Isolation) render(paths []string, appIDs []string) (string, error) {
	if err := os.MkdirAll(iso.Dir, 0o755); err != nil {
		return "", err
	}
	used := map[string]bool{}
	for i, dir := range paths {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return "", err
		}
		for _, e := range entries {
			ext := filepath.Ext(e.Name())
			if e.IsDir() || (ext != ".yaml" && ext != ".yml") {
				continue
			}
			src := filepath.Join(dir, e.Name())
			out, err := iso.renderFile(src, appIDs, used)
			if err != nil {
				return "", fmt.Errorf("%s: %w", src, err)
			}
			dst := filepath.Join(iso.Dir, fmt.Sprintf("%02d-%s", i, e.Name()))
			if err := os.WriteFile(dst, out, 0o644); err != nil {
				return "", err
			}
		}
	}
	var unused []string
	for comp, kv := range iso.Overrides {
		for key := range kv {
			if !used[comp+"/"+key] {
				unused = append(unused, comp+"/"+key)
			}
		}
	}
	if len(unused) > 0 {
		sort.Strings(unused)
		return "", fmt.Errorf("overrides name metadata no component defines: %s", strings.Join(unused, ", "))
	}
	return iso.Dir, nil
}

func (iso Isolation) renderFile(path string, appIDs []string, used map[string]bool) ([]byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	for {
		var doc map[string]any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if doc == nil {
			continue
		}
		if err := iso.rewrite(doc, appIDs, used); err != nil {
			return nil, err
		}
		if err := enc.Encode(doc); err != nil {
			return nil, err
		}
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

func (iso Isolation) rewrite(doc map[string]any, appIDs []string, used map[string]bool) error {
	known := map[string]bool{}
	for _, id := range appIDs {
		known[id] = true
	}
	mapID := func(id string) string {
		if known[id] {
			return iso.AppID(id)
		}
		return id
	}
	if scopes, ok := doc["scopes"].([]any); ok {
		for i, s := range scopes {
			if id, ok := s.(string); ok {
				scopes[i] = mapID(id)
			}
		}
	}
	spec, _ := doc["spec"].(map[string]any)
	if spec == nil {
		return nil
	}
	name := ""
	if md, ok := doc["metadata"].(map[string]any); ok {
		name, _ = md["name"].(string)
	}
	switch doc["kind"] {
	case "Subscription":
		for _, field := range []string{"topic", "deadLetterTopic"} {
			if t, ok := spec[field].(string); ok && t != "" {
				spec[field] = iso.TopicPrefix + t
			}
		}
	case "Resiliency":
		if targets, ok := spec["targets"].(map[string]any); ok {
			if apps, ok := targets["apps"].(map[string]any); ok {
				renamed := map[string]any{}
				for id, v := range apps {
					renamed[mapID(id)] = v
				}
				targets["apps"] = renamed
			}
		}
	case "Component":
		if extra := iso.ExtraScopes[name]; len(extra) > 0 {
			scopes, _ := doc["scopes"].([]any)
			for _, id := range extra {
				scopes = append(scopes, iso.AppID(id))
			}
			doc["scopes"] = scopes
		}
		items, _ := spec["metadata"].([]any)
		for _, it := range items {
			m, ok := it.(map[string]any)
			if !ok {
				continue
			}
			key, _ := m["name"].(string)
			if v, ok := iso.Overrides[name][key]; ok {
				delete(m, "secretKeyRef")
				m["value"] = v
				used[name+"/"+key] = true
				continue
			}
			val, ok := m["value"].(string)
			if !ok {
				continue
			}
			switch strings.ToLower(key) {
			case "publishingscopes", "subscriptionscopes":
				m["value"] = iso.rewriteScopes(val, mapID)
			case "allowedtopics", "protectedtopics":
				m["value"] = iso.prefixTopics(val)
			}
		}
	}
	return nil
}

// rewriteScopes rewrites Dapr's "app=topic1,topic2;app2=topic3" format.
func (iso Isolation) rewriteScopes(v string, mapID func(string) string) string {
	parts := strings.Split(v, ";")
	for i, p := range parts {
		app, topics, found := strings.Cut(p, "=")
		if !found {
			continue
		}
		parts[i] = mapID(strings.TrimSpace(app)) + "=" + iso.prefixTopics(topics)
	}
	return strings.Join(parts, ";")
}

func (iso Isolation) prefixTopics(v string) string {
	if strings.TrimSpace(v) == "" {
		return v
	}
	topics := strings.Split(v, ",")
	for i, t := range topics {
		topics[i] = iso.TopicPrefix + strings.TrimSpace(t)
	}
	return strings.Join(topics, ",")
}
