package launcher

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"orderflow/internal/component"
)

// meta is the value of c's metadata key, looked up in secrets when it is a secretKeyRef.
func meta(c *component.Component, key string, secrets map[string]string) string {
	it, ok := c.Item(key)
	switch {
	case !ok:
		return ""
	case it.SecretKeyRef != nil:
		return secrets[it.SecretKeyRef.Key]
	}
	return it.Value
}

// Endpoint is a network dependency a component needs.
type Endpoint struct {
	Address   string
	Service   string
	Component string
	File      string
}

// Dependencies lists the brokers and stores the specs' components connect to, as far as they can be read
// from the YAML (local secret files are consulted for secretKeyRefs).
func Dependencies(specs []Spec) ([]Endpoint, error) {
	comps, err := loadComponents(specs)
	if err != nil {
		return nil, err
	}
	secrets := localSecrets(comps, specs)
	seen := map[string]bool{}
	var out []Endpoint
	for _, c := range comps {
		addr, service := endpointOf(c, secrets)
		if addr == "" || seen[addr+c.Name] {
			continue
		}
		seen[addr+c.Name] = true
		out = append(out, Endpoint{Address: addr, Service: service, Component: c.Name, File: c.File})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Component < out[j].Component })
	return out, nil
}

// Preflight fails fast, with one message saying what to do, when a broker or store the components need does
// not accept connections.
func Preflight(specs []Spec) error {
	deps, err := Dependencies(specs)
	if err != nil {
		return err
	}
	checked := map[string]bool{}
	var problems []string
	for _, d := range deps {
		if checked[d.Address] {
			continue
		}
		checked[d.Address] = true
		conn, err := net.DialTimeout("tcp", d.Address, 2*time.Second)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s is not reachable at %s (component %q in %s): %v",
				d.Service, d.Address, d.Component, d.File, err))
			continue
		}
		conn.Close()
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s\nstart it, or point the component at yours (see README: Troubleshooting)", strings.Join(problems, "\n"))
	}
	return nil
}

func endpointOf(c *component.Component, secrets map[string]string) (addr, service string) {
	t := c.Type
	switch {
	case strings.HasSuffix(t, ".redis"):
		return meta(c, "redisHost", secrets), "Redis"
	case t == "pubsub.rabbitmq":
		return hostFromURL(meta(c, "connectionString", secrets), "5672"), "RabbitMQ"
	case t == "pubsub.mqtt3":
		return hostFromURL(meta(c, "url", secrets), "1883"), "the MQTT broker"
	case t == "state.postgresql":
		return hostFromKeyValues(meta(c, "connectionString", secrets), "5432"), "PostgreSQL"
	case t == "state.mysql":
		return hostFromMySQLDSN(meta(c, "connectionString", secrets)), "MySQL"
	}
	return "", ""
}

func hostFromURL(u, defPort string) string {
	if u == "" {
		return ""
	}
	if i := strings.Index(u, "://"); i >= 0 {
		u = u[i+3:]
	}
	if i := strings.LastIndex(u, "@"); i >= 0 {
		u = u[i+1:]
	}
	if i := strings.IndexAny(u, "/?"); i >= 0 {
		u = u[:i]
	}
	if _, _, err := net.SplitHostPort(u); err != nil {
		u = net.JoinHostPort(u, defPort)
	}
	return u
}

// hostFromKeyValues reads host= and port= from a libpq key=value connection string (or a URL).
func hostFromKeyValues(s, defPort string) string {
	if strings.Contains(s, "://") {
		return hostFromURL(s, defPort)
	}
	host, port := "", defPort
	for _, kv := range strings.Fields(s) {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "host":
			host = v
		case "port":
			port = v
		}
	}
	if host == "" || strings.HasPrefix(host, "/") {
		return ""
	}
	return net.JoinHostPort(host, port)
}

// hostFromMySQLDSN reads the address in user:pass@tcp(host:port)/db.
func hostFromMySQLDSN(s string) string {
	i := strings.Index(s, "tcp(")
	if i < 0 {
		return ""
	}
	rest := s[i+4:]
	j := strings.Index(rest, ")")
	if j < 0 {
		return ""
	}
	return rest[:j]
}

func loadComponents(specs []Spec) ([]*component.Component, error) {
	seen := map[string]bool{}
	var out []*component.Component
	for _, s := range specs {
		for _, dir := range s.ResourcesPaths {
			if seen[dir] {
				continue
			}
			seen[dir] = true
			files, err := filepath.Glob(filepath.Join(dir, "*.y*ml"))
			if err != nil {
				return nil, err
			}
			for _, f := range files {
				comps, err := component.ReadFile(f)
				if err != nil {
					return nil, err
				}
				out = append(out, comps...)
			}
		}
	}
	return out, nil
}

// localSecrets reads the JSON files of secretstores.local.file components, relative to the sidecars'
// working directory.
func localSecrets(comps []*component.Component, specs []Spec) map[string]string {
	out := map[string]string{}
	if len(specs) == 0 {
		return out
	}
	for _, c := range comps {
		if c.Type != "secretstores.local.file" {
			continue
		}
		path := meta(c, "secretsFile", nil)
		if !filepath.IsAbs(path) {
			path = filepath.Join(specs[0].Dir, path)
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		var m map[string]any
		if json.Unmarshal(raw, &m) == nil {
			for k, v := range m {
				if s, ok := v.(string); ok {
					out[k] = s
				}
			}
		}
	}
	return out
}
