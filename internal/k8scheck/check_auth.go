package k8scheck

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// authenticatedApps are the apps whose APIs take bearer tokens (their Config embeds auth.Config): each refuses
// to start without authSettings, so every overlay must give them values.
var authenticatedApps = []string{"orders", "inventory", "deadletters", "console"}

// authSettings are the settings of internal/platform/auth that have no default.
var authSettings = []string{"AUTH_ISSUER", "AUTH_AUDIENCE"}

// checkAuthSettings checks that each authenticated app's container gets every auth setting, non-empty, from
// its env or from a ConfigMap of the overlay it reads with envFrom. Values are the overlay's business (the
// cloud overlays ship CHANGE-ME placeholders), only their absence is a finding.
func (c *checker) checkAuthSettings() {
	for _, app := range authenticatedApps {
		d := c.deployment(app)
		if d == nil || len(d.V.Spec.Template.Spec.Containers) == 0 {
			continue // reported with the Dapr apps
		}
		ctr := d.V.Spec.Template.Spec.Containers[0]
		for _, name := range authSettings {
			if !c.hasSetting(ctr, name) {
				c.addf(d.Ref, "container %q gets no %s (docs/auth.md): set it, or read it from a ConfigMap of the overlay with envFrom",
					ctr.Name, name)
			}
		}
	}
}

// hasSetting reports whether ctr gets a non-empty name: a literal value, a reference (resolved at run time),
// or a key of a ConfigMap of the overlay it reads with envFrom.
func (c *checker) hasSetting(ctr corev1.Container, name string) bool {
	if e := envVar(ctr, name); e != nil {
		return e.ValueFrom != nil || e.Value != ""
	}
	for _, from := range ctr.EnvFrom {
		if from.ConfigMapRef == nil {
			continue
		}
		key, ok := strings.CutPrefix(name, from.Prefix)
		if !ok {
			continue
		}
		if cm := c.configMap(from.ConfigMapRef.Name); cm != nil && cm.Data[key] != "" {
			return true
		}
	}
	return false
}

func (c *checker) configMap(name string) *corev1.ConfigMap {
	for i := range c.configMaps {
		if c.configMaps[i].V.Name == name {
			return c.configMaps[i].V
		}
	}
	return nil
}
