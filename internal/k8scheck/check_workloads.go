package k8scheck

import (
	"fmt"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// checkWorkloads applies the rules every Deployment follows, Dapr service or not: its selector matches its
// pods, it runs under its own existing service account, and each container has liveness and readiness
// probes, CPU and memory requests and limits, a pinned image and the restricted security context.
func (c *checker) checkWorkloads() {
	for _, d := range c.deployments {
		spec := d.V.Spec.Template.Spec
		if !selects(d.V.Spec.Selector, d.V.Spec.Template.Labels) {
			c.addf(d.Ref, "spec.selector does not match the pod template's labels %v", d.V.Spec.Template.Labels)
		}
		switch sa := spec.ServiceAccountName; {
		case sa == "" || sa == "default":
			c.addf(d.Ref, "runs under the namespace's default service account: give it its own (serviceAccountName)")
		case !c.hasServiceAccount(sa):
			c.addf(d.Ref, "serviceAccountName %q names no ServiceAccount of the overlay", sa)
		}
		if len(spec.InitContainers) > 0 {
			c.addf(d.Ref, "has init containers, which the checks do not cover; add rules for them to k8scheck first")
		}
		for _, ctr := range spec.Containers {
			c.checkContainer(d.Ref, spec, ctr)
		}
	}
}

func (c *checker) checkContainer(ref Ref, pod corev1.PodSpec, ctr corev1.Container) {
	where := fmt.Sprintf("container %q", ctr.Name)
	if ctr.LivenessProbe == nil {
		c.addf(ref, "%s has no livenessProbe", where)
	}
	if ctr.ReadinessProbe == nil {
		c.addf(ref, "%s has no readinessProbe", where)
	}
	for _, kind := range []string{"requests", "limits"} {
		list := ctr.Resources.Requests
		if kind == "limits" {
			list = ctr.Resources.Limits
		}
		for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			if _, ok := list[res]; !ok {
				c.addf(ref, "%s has no %s %s (resources.%s.%s)", where, res, strings.TrimSuffix(kind, "s"), kind, res)
			}
		}
	}
	for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, hasReq := ctr.Resources.Requests[res]
		lim, hasLim := ctr.Resources.Limits[res]
		if hasReq && hasLim && req.Cmp(lim) > 0 {
			c.addf(ref, "%s requests more %s (%s) than its limit (%s)", where, res, req.String(), lim.String())
		}
	}
	if msg := imageProblem(ctr.Image); msg != "" {
		c.addf(ref, "%s: image %q %s", where, ctr.Image, msg)
	}
	for _, msg := range securityProblems(pod.SecurityContext, ctr.SecurityContext) {
		c.addf(ref, "%s: %s", where, msg)
	}
}

// imageProblem says why an image reference is not pinned, or returns "".
func imageProblem(image string) string {
	if strings.Contains(image, "@sha256:") {
		return ""
	}
	name := image[strings.LastIndex(image, "/")+1:]
	_, tag, ok := strings.Cut(name, ":")
	switch {
	case !ok || tag == "":
		return "has no tag: pin a version or a digest"
	case tag == "latest":
		return "uses the tag latest: pin a version or a digest"
	}
	return ""
}

// securityProblems lists how a container's effective security context (its own, falling back to the pod's
// where Kubernetes does) falls short of the Pod Security Standard "restricted" the namespace enforces.
func securityProblems(pod *corev1.PodSecurityContext, ctr *corev1.SecurityContext) []string {
	if pod == nil {
		pod = &corev1.PodSecurityContext{}
	}
	if ctr == nil {
		ctr = &corev1.SecurityContext{}
	}
	var out []string
	runAsNonRoot := ctr.RunAsNonRoot
	if runAsNonRoot == nil {
		runAsNonRoot = pod.RunAsNonRoot
	}
	if runAsNonRoot == nil || !*runAsNonRoot {
		out = append(out, "securityContext.runAsNonRoot must be true")
	}
	if ctr.ReadOnlyRootFilesystem == nil || !*ctr.ReadOnlyRootFilesystem {
		out = append(out, "securityContext.readOnlyRootFilesystem must be true")
	}
	if ctr.AllowPrivilegeEscalation == nil || *ctr.AllowPrivilegeEscalation {
		out = append(out, "securityContext.allowPrivilegeEscalation must be false")
	}
	if ctr.Privileged != nil && *ctr.Privileged {
		out = append(out, "securityContext.privileged must not be set")
	}
	if ctr.Capabilities == nil || !slices.Contains(ctr.Capabilities.Drop, "ALL") {
		out = append(out, "securityContext.capabilities.drop must include ALL")
	} else if len(ctr.Capabilities.Add) > 0 {
		out = append(out, fmt.Sprintf("securityContext.capabilities.add must be empty, has %v", ctr.Capabilities.Add))
	}
	seccomp := ctr.SeccompProfile
	if seccomp == nil {
		seccomp = pod.SeccompProfile
	}
	if seccomp == nil || seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault {
		out = append(out, "the seccomp profile (securityContext.seccompProfile of the container or the pod) must be RuntimeDefault")
	}
	return out
}

// selects reports whether a label selector matches a set of labels; a nil or empty selector matches nothing
// here, since every selector of these manifests should name its pods.
func selects(sel *metav1.LabelSelector, set map[string]string) bool {
	if sel == nil || (len(sel.MatchLabels) == 0 && len(sel.MatchExpressions) == 0) {
		return false
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	return err == nil && s.Matches(labels.Set(set))
}

// selectsPods reports whether a map selector (Services) matches a Deployment's pods.
func selectsPods(sel map[string]string, d *appsv1.Deployment) bool {
	return len(sel) > 0 && labels.SelectorFromSet(sel).Matches(labels.Set(d.Spec.Template.Labels))
}

// containerPort resolves a probe's or Service's target port (a number or a port name) in a container.
func containerPort(ctr corev1.Container, port intstr.IntOrString) (int32, bool) {
	if port.Type == intstr.Int {
		return port.IntVal, port.IntVal > 0
	}
	for _, p := range ctr.Ports {
		if p.Name == port.StrVal {
			return p.ContainerPort, true
		}
	}
	return 0, false
}

func envVar(ctr corev1.Container, name string) *corev1.EnvVar {
	for i := range ctr.Env {
		if ctr.Env[i].Name == name {
			return &ctr.Env[i]
		}
	}
	return nil
}
