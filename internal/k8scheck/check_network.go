package k8scheck

import (
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// checkNetworkPolicies checks the policies' backbone: everything is denied by default, every pod may
// resolve names, the sidecars may reach the Dapr control plane, and nothing but the public API's port
// accepts connections from anywhere.
func (c *checker) checkNetworkPolicies() {
	var defaultDeny, dns, controlPlane, publicIngress bool
	publicPort := 0
	if app, ok := c.p.App(publicAPI); ok {
		publicPort = app.Port
	}
	for _, np := range c.netpols {
		spec := np.V.Spec
		selectsAll := len(spec.PodSelector.MatchLabels) == 0 && len(spec.PodSelector.MatchExpressions) == 0
		if selectsAll && slices.Contains(spec.PolicyTypes, networkingv1.PolicyTypeIngress) &&
			slices.Contains(spec.PolicyTypes, networkingv1.PolicyTypeEgress) && len(spec.Ingress) == 0 && len(spec.Egress) == 0 {
			defaultDeny = true
		}
		for _, rule := range spec.Egress {
			if selectsAll && allowsPort(rule.Ports, corev1.ProtocolUDP, 53) {
				dns = true
			}
			if spec.PodSelector.MatchLabels[sidecarLabel] == "true" && toNamespace(rule.To, daprNamespace) &&
				allowsPort(rule.Ports, corev1.ProtocolTCP, 50001) && allowsPort(rule.Ports, corev1.ProtocolTCP, 6500) {
				controlPlane = true
			}
		}
		for i, rule := range spec.Ingress {
			if !fromAnywhere(rule.From) {
				continue
			}
			onlyPublic := spec.PodSelector.MatchLabels["app.kubernetes.io/name"] == publicAPI
			if !onlyPublic || len(rule.Ports) == 0 || !onlyPort(rule.Ports, publicPort) {
				c.addf(np.Ref, "ingress rule %d admits connections from anywhere to %s: only the public API %s on port %d may be reached from outside",
					i+1, describeSelector(spec.PodSelector.MatchLabels), publicAPI, publicPort)
				continue
			}
			publicIngress = true
		}
	}
	if !defaultDeny {
		c.addf(c.missing("NetworkPolicy", "default-deny"), "missing: a policy selecting every pod with policyTypes Ingress and Egress and no rules")
	}
	if !dns {
		c.addf(c.missing("NetworkPolicy", "allow-dns-egress"), "missing: no policy lets every pod reach DNS (UDP 53)")
	}
	if !controlPlane {
		c.addf(c.missing("NetworkPolicy", "allow-dapr-control-plane-egress"),
			"missing: no policy lets the sidecars (%s=true) reach the Dapr control plane in %s (sentry 50001, operator 6500)", sidecarLabel, daprNamespace)
	}
	if !publicIngress {
		c.addf(c.missing("NetworkPolicy", "allow-orders-api-ingress"), "missing: no policy admits traffic to the public API %s on port %d", publicAPI, publicPort)
	}
}

func allowsPort(ports []networkingv1.NetworkPolicyPort, proto corev1.Protocol, port int) bool {
	if len(ports) == 0 {
		return true
	}
	for _, p := range ports {
		pp := corev1.ProtocolTCP
		if p.Protocol != nil {
			pp = *p.Protocol
		}
		if pp == proto && (p.Port == nil || p.Port.Type == intstr.Int && int(p.Port.IntVal) == port) {
			return true
		}
	}
	return false
}

func onlyPort(ports []networkingv1.NetworkPolicyPort, port int) bool {
	for _, p := range ports {
		if p.Port == nil || p.Port.Type != intstr.Int || int(p.Port.IntVal) != port || p.EndPort != nil {
			return false
		}
	}
	return true
}

func toNamespace(peers []networkingv1.NetworkPolicyPeer, ns string) bool {
	for _, p := range peers {
		if p.NamespaceSelector != nil && p.NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"] == ns {
			return true
		}
	}
	return false
}

// fromAnywhere reports whether an ingress rule's peers admit any source: no peers at all, an empty
// namespace selector without a pod selector, or an ipBlock of the whole address space.
func fromAnywhere(peers []networkingv1.NetworkPolicyPeer) bool {
	if len(peers) == 0 {
		return true
	}
	for _, p := range peers {
		if p.IPBlock != nil && (p.IPBlock.CIDR == "0.0.0.0/0" || p.IPBlock.CIDR == "::/0") {
			return true
		}
		if p.NamespaceSelector != nil && len(p.NamespaceSelector.MatchLabels) == 0 &&
			len(p.NamespaceSelector.MatchExpressions) == 0 && p.PodSelector == nil {
			return true
		}
	}
	return false
}

func describeSelector(m map[string]string) string {
	if len(m) == 0 {
		return "every pod"
	}
	return fmt.Sprintf("the pods %v", m)
}

// checkRBAC checks that role bindings bind existing roles to existing service accounts, and that access to
// Secrets is granted by name only.
func (c *checker) checkRBAC() {
	roles := map[string]bool{}
	for _, r := range c.roles {
		roles[r.V.Name] = true
		for i, rule := range r.V.Rules {
			if slices.Contains(rule.Resources, "secrets") && len(rule.ResourceNames) == 0 {
				c.addf(r.Ref, "rule %d grants access to every Secret of the namespace: list the resourceNames it needs", i+1)
			}
		}
	}
	for _, rb := range c.roleBindings {
		if rb.V.RoleRef.Kind == "Role" && !roles[rb.V.RoleRef.Name] {
			c.addf(rb.Ref, "binds Role %q, which the overlay does not define", rb.V.RoleRef.Name)
		}
		for _, s := range rb.V.Subjects {
			if s.Kind == "ServiceAccount" && !c.hasServiceAccount(s.Name) {
				c.addf(rb.Ref, "binds ServiceAccount %q, which the overlay does not define", s.Name)
			}
		}
	}
}
