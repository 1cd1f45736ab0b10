package componentcheck

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"orderflow/internal/component"
)

// Problem is one rule violation.
type Problem struct {
	File      string // e.g. "components/aws/pubsub.yaml"; a folder for a component a profile lacks
	Line      int    // 0 when the problem has no single line
	Component string // the component, subscription or resiliency concerned, if any
	Key       string // the offending metadata key or field, if any
	Message   string // names the component and the key itself, so it reads on its own
}

func (p Problem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Message)
	}
	return p.File + ": " + p.Message
}

// Result is the outcome of checking a components tree.
type Result struct {
	Problems []Problem
	Profiles []ProfileSummary
}

// ProfileSummary lists what one profile deploys.
type ProfileSummary struct {
	Name       string
	Components []ComponentSummary
}

// ComponentSummary is one component of a profile.
type ComponentSummary struct {
	Name, Type, Version string
	// Stable is false for types only allcomponents builds have (the official daprd, bin/daprd-allcomponents),
	// not a stablecomponents build (bin/daprd).
	Stable bool
}

// Err returns the problems as one error, or nil.
func (r *Result) Err() error {
	if len(r.Problems) == 0 {
		return nil
	}
	lines := make([]string, len(r.Problems))
	for i, p := range r.Problems {
		lines[i] = p.String()
	}
	return errors.New(strings.Join(lines, "\n"))
}

// Summary renders the profiles as "profile: component → type" lines.
func (r *Result) Summary() string {
	var b strings.Builder
	for _, p := range r.Profiles {
		fmt.Fprintf(&b, "%s:\n", p.Name)
		for _, c := range p.Components {
			note := ""
			if !c.Stable {
				note = "  (official daprd or `DAPRD_TAGS=allcomponents make daprd` only: not in a stablecomponents build)"
			}
			fmt.Fprintf(&b, "  %-20s → %s %s%s\n", c.Name, c.Type, c.Version, note)
		}
	}
	return b.String()
}

// Options tune Check.
type Options struct {
	// Reference is the profile every other profile is compared with for component names, scopes and
	// kinds. When empty or absent, the first profile in lexical order is used.
	Reference string
}

// Check validates the Dapr resources under root, the components directory: each subfolder except
// "secrets" is a profile, and "shared" holds what every profile loads too. Problems are returned in the
// Result; the error is for a tree that cannot be read at all.
//
// For each Component document (profiles and shared):
//   - spec.type and spec.version name a component daprd registers (Catalog.Definition says which) and the
//     document has no field Dapr would silently ignore (a misspelt spec.metdata, secretKeyref, ...);
//   - every metadata key is declared by the component (its metadata, its authentication profiles, the
//     built-in profiles it imports), read by daprd for its kind (daprLevelKeys), or read by the component's
//     code by name (Definition.SourceKeys). Keys match case-insensitively, as in Dapr;
//   - every required key without a default is present. Authentication profiles are alternatives: the keys
//     set that belong to profiles (and not to the plain metadata) must all be taken by one profile whose
//     required keys are all present. Setting none of them passes when a profile is complete without them,
//     or when an ambient-identity profile (IRSA, Azure workload identity, GKE workload identity where the
//     component supports it) requires no key of its own: Service Bus on workload identity still needs
//     namespaceName, GCP Pub/Sub still needs projectId, while Entra ID for Redis only tightens enableTLS once
//     switched on with useEntraID;
//   - credentials are references: keys the definition marks sensitive, or whose name says they hold a
//     credential (credentialName), use secretKeyRef, never value or envRef;
//   - a secretKeyRef needs auth.secretStore naming a secret-store component of the same profile (for
//     shared components: of every profile); Dapr's implicit fallback to the Kubernetes store is refused.
//     A secret store itself must not read secrets, with one exception its type may force: a secret store
//     that has no ambient-identity option (secretstores.hashicorp.vault's token, for one) may bootstrap its
//     credential from Dapr's built-in Kubernetes store, named explicitly as auth.secretStore: kubernetes;
//   - a binding's direction metadata names directions daprd registers the binding for.
//
// Across profiles: each defines the same component names, none twice and none also in shared, each with
// the same scopes and the same kind (pubsub, state, bindings, secretstores) as in the reference profile.
//
// References: Subscription documents name a pub/sub component of every profile (of their own profile when
// they live in one), their scoped apps are in that component's scopes, and the component's
// subscriptionScopes and publishingScopes let each app subscribe to the topic and publish to its
// dead-letter topic (evaluated as daprd does: pkg/runtime/pubsub.IsOperationAllowed). Resiliency
// targets.components name components every profile defines.
func Check(cat *Catalog, root string, opts Options) (*Result, error) {
	profiles, shared, problems, err := loadTree(root)
	if err != nil {
		return nil, err
	}
	if len(profiles) == 0 {
		return nil, fmt.Errorf("%s has no profile folders", root)
	}
	ch := &checker{cat: cat, problems: problems}
	for _, p := range profiles {
		for _, c := range p.components {
			ch.component(c, []*folder{p})
		}
	}
	if shared != nil {
		for _, c := range shared.components {
			ch.component(c, profiles)
		}
	}
	ref := profiles[0]
	for _, p := range profiles {
		if p.name == opts.Reference {
			ref = p
		}
	}
	ch.consistency(profiles, shared, ref)
	ch.references(profiles, shared)

	sort.SliceStable(ch.problems, func(i, j int) bool {
		a, b := ch.problems[i], ch.problems[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Message < b.Message
	})
	return &Result{Problems: ch.problems, Profiles: ch.summaries(profiles)}, nil
}

type checker struct {
	cat      *Catalog
	problems []Problem
}

func (ch *checker) add(p Problem) { ch.problems = append(ch.problems, p) }

// at reports a problem on a component, at line (or the document's first line).
func (ch *checker) at(c *component.Component, line int, key, format string, args ...any) {
	if line == 0 {
		line = c.Line
	}
	ch.add(Problem{File: c.File, Line: line, Component: c.Name, Key: key, Message: fmt.Sprintf(format, args...)})
}

// component checks one Component document. contexts are the profiles it is loaded with.
func (ch *checker) component(c *component.Component, contexts []*folder) {
	if c.Name == "" {
		ch.at(c, 0, "metadata.name", "a Component has no metadata.name")
		return
	}
	if c.APIVersion != "dapr.io/v1alpha1" {
		ch.at(c, 0, "apiVersion", "component %q: apiVersion %q is not dapr.io/v1alpha1", c.Name, c.APIVersion)
	}
	if c.Type == "" || c.Version == "" {
		ch.at(c, c.TypeLine, "spec.type", "component %q: spec.type and spec.version are both required", c.Name)
		return
	}
	def, err := ch.cat.Definition(c.Type, c.Version)
	switch {
	case errors.Is(err, errUnknownType):
		ch.at(c, c.TypeLine, "spec.type", "component %q: spec.type %q is not a component of daprd %s%s",
			c.Name, c.Type, ch.cat.DaprVersion, suggest(c.Type, ch.cat.Types()))
		return
	case errors.Is(err, errUnknownVersion):
		reg, _ := ch.cat.Registration(c.Type)
		ch.at(c, c.TypeLine, "spec.version", "component %q: daprd %s has no version %q of %s (it has %s)",
			c.Name, ch.cat.DaprVersion, c.Version, c.Type, strings.Join(reg.Versions, ", "))
		return
	case err != nil:
		ch.at(c, c.TypeLine, "spec.type", "component %q: cannot check %s %s against components-contrib %s: %v",
			c.Name, c.Type, c.Version, ch.cat.ContribVersion, err)
		return
	}
	label := fmt.Sprintf("component %q (%s %s)", c.Name, def.Type, def.Version)
	ch.keys(c, def, label)
	ch.secrets(c, def, label, contexts)
	ch.required(c, def, label)
	ch.direction(c, def, label)
	ch.capabilities(c, def, label)
}

// storeNeeds is what the services' state stores must support (internal/kv): ETags everywhere, and
// multi-key transactions where inventory reserves several SKUs at once.
var storeNeeds = map[string][]string{
	"orders-store":        {"etag"},
	"inventory-store":     {"etag", "transactional"},
	"payments-store":      {"etag"},
	"shipping-store":      {"etag"},
	"notifications-store": {"etag"},
}

// capabilities checks that a state store supports what the service using it relies on.
func (ch *checker) capabilities(c *component.Component, def *Definition, label string) {
	need := storeNeeds[c.Name]
	if len(need) == 0 || !strings.HasPrefix(def.Type, "state.") {
		return
	}
	if len(def.Capabilities) == 0 {
		ch.at(c, c.TypeLine, "spec.type", "%s: components-contrib declares no capabilities for it, so it cannot be shown to support %s, which %s relies on",
			label, strings.Join(need, " and "), c.Name)
		return
	}
	for _, n := range need {
		if !slices.Contains(def.Capabilities, n) {
			ch.at(c, c.TypeLine, "spec.type", "%s: does not support %q, which %s relies on (internal/kv); it supports %s",
				label, n, c.Name, strings.Join(def.Capabilities, ", "))
		}
	}
}

// keys checks that every metadata key is declared, set once, and given exactly one kind of value.
func (ch *checker) keys(c *component.Component, def *Definition, label string) {
	declared := def.allFields()
	extra := map[string]bool{}
	for _, k := range daprLevelKeys[kindOf(def.Type)] {
		extra[strings.ToLower(k)] = true
	}
	for _, k := range def.SourceKeys {
		extra[strings.ToLower(k)] = true
	}
	seen := map[string]int{}
	for _, item := range c.Metadata {
		if item.Name == "" {
			ch.at(c, item.Line, "", "%s: a metadata item has no name", label)
			continue
		}
		lower := strings.ToLower(item.Name)
		if first, dup := seen[lower]; dup {
			ch.at(c, item.Line, item.Name, "%s: metadata %q is set twice (first at line %d)", label, item.Name, first)
		}
		seen[lower] = item.Line
		if _, ok := declared[lower]; !ok && !extra[lower] {
			candidates := def.names()
			candidates = append(candidates, daprLevelKeys[kindOf(def.Type)]...)
			ch.at(c, item.Line, item.Name, "%s: metadata %q is not declared by %s %s in components-contrib %s (%s) nor read by daprd for %s components%s",
				label, item.Name, def.Type, def.Version, ch.cat.ContribVersion, def.Source, kindOf(def.Type), suggest(item.Name, candidates))
		}
		sources := 0
		for _, set := range []bool{item.HasValue, item.SecretKeyRef != nil, item.EnvRef != ""} {
			if set {
				sources++
			}
		}
		switch {
		case sources == 0:
			ch.at(c, item.Line, item.Name, "%s: metadata %q has no value, secretKeyRef or envRef", label, item.Name)
		case sources > 1:
			ch.at(c, item.Line, item.Name, "%s: metadata %q sets more than one of value, secretKeyRef and envRef", label, item.Name)
		}
	}
}

// secrets checks that credentials are secret references, and that references name a secret store.
func (ch *checker) secrets(c *component.Component, def *Definition, label string, contexts []*folder) {
	declared := def.allFields()
	var refs []component.Item
	for _, item := range c.Metadata {
		if item.SecretKeyRef != nil {
			refs = append(refs, item)
			if item.SecretKeyRef.Name == "" {
				ch.at(c, item.Line, item.Name, "%s: metadata %q has a secretKeyRef without a name", label, item.Name)
			}
			continue
		}
		if declared[strings.ToLower(item.Name)].Sensitive || credentialName(item.Name) {
			how := "value"
			if item.EnvRef != "" && !item.HasValue {
				how = "envRef"
			}
			ch.at(c, item.Line, item.Name, "%s: metadata %q holds a credential and must use secretKeyRef, not %s", label, item.Name, how)
		}
	}

	if kindOf(def.Type) == "secretstores" {
		switch {
		case len(refs) == 0:
		case def.hasIdentityProfile():
			ch.at(c, refs[0].Line, refs[0].Name, "%s: a secret store must not read its credentials from a secret store (metadata %q): authenticate it with workload identity instead", label, refs[0].Name)
		case c.SecretStore != kubernetesStore:
			ch.at(c, refs[0].Line, refs[0].Name, "%s: metadata %q: %s %s has no workload-identity option in Dapr %s, so its key can only come from Dapr's built-in Kubernetes store; set auth.secretStore: %s",
				label, refs[0].Name, def.Type, def.Version, ch.cat.DaprVersion, kubernetesStore)
		}
		return
	}

	if len(refs) > 0 && c.SecretStore == "" {
		for _, item := range refs {
			ch.at(c, item.Line, item.Name, "%s: metadata %q uses secretKeyRef but the component sets no auth.secretStore (name the profile's secret store; Dapr's implicit Kubernetes store is not accepted)", label, item.Name)
		}
	}
	if c.SecretStore == "" {
		return
	}
	for _, p := range contexts {
		store := p.byName(c.SecretStore)
		if store == nil || kindOf(strings.ToLower(store.Type)) != "secretstores" {
			ch.at(c, c.SecretStoreLine, "auth.secretStore", "%s: auth.secretStore %q is not a secret-store component of profile %q", label, c.SecretStore, p.name)
		}
	}
}

// kubernetesStore is the secret store daprd provides on Kubernetes without a component.
const kubernetesStore = "kubernetes"

// required checks required keys and authentication profiles.
func (ch *checker) required(c *component.Component, def *Definition, label string) {
	present := map[string]bool{} // keys with a value, a reference or an env var
	for _, item := range c.Metadata {
		if item.SecretKeyRef != nil || item.EnvRef != "" || (item.HasValue && item.Value != "") {
			present[strings.ToLower(item.Name)] = true
		}
	}
	directions := directionsOf(c)
	for _, f := range def.Fields {
		if !f.Required || f.Default != "" || present[strings.ToLower(f.Name)] {
			continue
		}
		if f.Direction != "" && directions != nil && !directions[f.Direction] {
			continue // e.g. an input-only key of a binding used for output
		}
		ch.at(c, c.TypeLine, f.Name, "%s: required metadata %q is missing", label, f.Name)
	}
	if ok, missing, detail := satisfiedProfile(def, c.Metadata, present); !ok {
		ch.at(c, c.TypeLine, missing, "%s: no authentication profile is satisfied: %s", label, detail)
	}
}

// needsOwnKey reports whether profile p requires a key that is not part of the plain metadata (base).
func needsOwnKey(p Profile, base fieldIndex) bool {
	for _, f := range p.Fields {
		if _, isBase := base[strings.ToLower(f.Name)]; f.Required && f.Default == "" && !isBase {
			return true
		}
	}
	return false
}

// satisfiedProfile applies the authentication-profile rule documented on Check. On failure it returns
// the first missing key of the closest profile and a description of every profile's shortfall.
func satisfiedProfile(def *Definition, items []component.Item, present map[string]bool) (ok bool, missing, detail string) {
	if len(def.Profiles) == 0 {
		return true, "", ""
	}
	base := indexFields(def.Fields)
	inProfiles := map[string]bool{}
	for _, p := range def.Profiles {
		for _, f := range p.Fields {
			inProfiles[strings.ToLower(f.Name)] = true
		}
	}
	var chosen []string // keys set that select a profile
	for _, item := range items {
		k := strings.ToLower(item.Name)
		if _, isBase := base[k]; !isBase && inProfiles[k] {
			chosen = append(chosen, item.Name)
		}
	}
	var parts []string
	best := -1
	for _, p := range def.Profiles {
		idx := indexFields(p.Fields)
		var needs, foreign []string
		for _, f := range p.Fields {
			if f.Required && f.Default == "" && !present[strings.ToLower(f.Name)] {
				needs = append(needs, f.Name)
			}
		}
		for _, k := range chosen {
			if _, ok := idx[strings.ToLower(k)]; !ok {
				foreign = append(foreign, k)
			}
		}
		if len(needs) == 0 && len(foreign) == 0 {
			return true, "", ""
		}
		var why []string
		if len(needs) > 0 {
			why = append(why, "needs "+strings.Join(needs, ", "))
		}
		if len(foreign) > 0 {
			why = append(why, "does not take "+strings.Join(foreign, ", "))
		}
		parts = append(parts, fmt.Sprintf("%q %s", p.Title, strings.Join(why, " and ")))
		if len(needs) > 0 && len(foreign) == 0 && (best < 0 || len(needs) < best) {
			best, missing = len(needs), needs[0]
		}
	}
	// Nothing profile-specific is set: the component runs on an ambient identity, which is fine when an
	// identity profile asks for no key of its own (its other requirements, such as Redis's enableTLS for
	// Entra ID, apply only once the profile is switched on).
	if len(chosen) == 0 {
		for _, p := range def.Profiles {
			if p.Identity && !needsOwnKey(p, base) {
				return true, "", ""
			}
		}
	}
	return false, missing, strings.Join(parts, "; ")
}

// direction checks a binding's direction metadata against daprd's registration.
func (ch *checker) direction(c *component.Component, def *Definition, label string) {
	dirs := directionsOf(c)
	if dirs == nil || kindOf(def.Type) != "bindings" {
		return
	}
	reg, _ := ch.cat.Registration(def.Type)
	for d := range dirs {
		ok := (d == "input" && reg.Input) || (d == "output" && reg.Output)
		if !ok {
			ch.at(c, itemLine(c, "direction"), "direction", "%s: direction %q: daprd does not register %s as an %s binding", label, d, def.Type, d)
		}
	}
}

// directionsOf returns the directions a binding's "direction" metadata names, or nil when it is not set.
func directionsOf(c *component.Component) map[string]bool {
	for _, item := range c.Metadata {
		if strings.EqualFold(item.Name, "direction") && item.HasValue {
			out := map[string]bool{}
			for _, d := range strings.Split(item.Value, ",") {
				if d = strings.ToLower(strings.TrimSpace(d)); d != "" {
					out[d] = true
				}
			}
			return out
		}
	}
	return nil
}

func itemLine(c *component.Component, key string) int {
	for _, item := range c.Metadata {
		if strings.EqualFold(item.Name, key) {
			return item.Line
		}
	}
	return c.Line
}

// propsOf returns the component's plain metadata values by lower-case key.
func propsOf(c *component.Component) map[string]string {
	out := map[string]string{}
	for _, item := range c.Metadata {
		if item.HasValue {
			out[strings.ToLower(item.Name)] = item.Value
		}
	}
	return out
}

func (f *folder) byName(name string) *component.Component {
	for _, c := range f.components {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// consistency compares every profile with the reference profile.
func (ch *checker) consistency(profiles []*folder, shared *folder, ref *folder) {
	for _, p := range profiles {
		seen := map[string]*component.Component{}
		for _, c := range p.components {
			if c.Name == "" {
				continue
			}
			if first, dup := seen[c.Name]; dup {
				ch.at(c, 0, "metadata.name", "component %q is defined twice in profile %q (also at %s:%d)", c.Name, p.name, first.File, first.Line)
			}
			seen[c.Name] = c
			if shared != nil {
				if s := shared.byName(c.Name); s != nil {
					ch.at(c, 0, "metadata.name", "component %q is defined both here and in %s; Dapr would load it twice", c.Name, s.File)
				}
			}
		}
	}
	for _, p := range profiles {
		if p == ref {
			continue
		}
		for _, rc := range ref.components {
			if rc.Name != "" && p.byName(rc.Name) == nil {
				ch.add(Problem{File: p.path, Component: rc.Name,
					Message: fmt.Sprintf("profile %q does not define component %q (profile %q does, in %s)", p.name, rc.Name, ref.name, rc.File)})
			}
		}
		for _, c := range p.components {
			rc := ref.byName(c.Name)
			if c.Name == "" {
				continue
			}
			if rc == nil {
				ch.at(c, 0, "metadata.name", "component %q is not defined by profile %q: every profile must define the same components", c.Name, ref.name)
				continue
			}
			if !sameSet(c.Scopes, rc.Scopes) {
				ch.at(c, c.ScopesLine, "scopes", "component %q: scopes %v differ from profile %q (%v)", c.Name, sorted(c.Scopes), ref.name, sorted(rc.Scopes))
			}
			if k, rk := kindOf(strings.ToLower(c.Type)), kindOf(strings.ToLower(rc.Type)); c.Type != "" && rc.Type != "" && k != rk {
				ch.at(c, c.TypeLine, "spec.type", "component %q is a %s component (%s) here but a %s component (%s) in profile %q", c.Name, k, c.Type, rk, rc.Type, ref.name)
			}
		}
	}
}

// references checks Subscription and Resiliency documents against the components of each profile.
func (ch *checker) references(profiles []*folder, shared *folder) {
	lookupIn := func(p *folder, name string) *component.Component {
		if c := p.byName(name); c != nil {
			return c
		}
		if shared != nil {
			return shared.byName(name)
		}
		return nil
	}
	type scoped struct {
		f        *folder
		contexts []*folder
	}
	var folders []scoped
	if shared != nil {
		folders = append(folders, scoped{shared, profiles})
	}
	for _, p := range profiles {
		folders = append(folders, scoped{p, []*folder{p}})
	}
	for _, sf := range folders {
		for _, s := range sf.f.subscriptions {
			for _, p := range sf.contexts {
				ch.subscription(s, p, lookupIn(p, s.pubsub))
			}
		}
		for _, r := range sf.f.resiliencies {
			for _, t := range r.targets {
				for _, p := range sf.contexts {
					if lookupIn(p, t.name) == nil {
						ch.add(Problem{File: r.file, Line: t.line, Component: r.name, Key: t.name,
							Message: fmt.Sprintf("resiliency %q: targets.components %q is not a component of profile %q", r.name, t.name, p.name)})
					}
				}
			}
		}
	}
}

func (ch *checker) subscription(s *subscription, p *folder, ps *component.Component) {
	line := s.pubsubLine
	if line == 0 {
		line = s.line
	}
	report := func(key, format string, args ...any) {
		ch.add(Problem{File: s.file, Line: line, Component: s.name, Key: key, Message: fmt.Sprintf(format, args...)})
	}
	if ps == nil || kindOf(strings.ToLower(ps.Type)) != "pubsub" {
		report("pubsubname", "subscription %q: pubsubname %q is not a pub/sub component of profile %q", s.name, s.pubsub, p.name)
		return
	}
	props := propsOf(ps)
	for _, app := range s.scopes {
		if len(ps.Scopes) > 0 && !slices.Contains(ps.Scopes, app) {
			report("scopes", "subscription %q: app %q is not in the scopes of component %q in profile %q", s.name, app, ps.Name, p.name)
			continue
		}
		if s.topic != "" && !topicAllowed(s.topic, app, props, "subscriptionScopes") {
			report("topic", "subscription %q: app %q may not subscribe to %q under the subscriptionScopes/allowedTopics of component %q in profile %q", s.name, app, s.topic, ps.Name, p.name)
		}
		if s.deadLetter != "" && !topicAllowed(s.deadLetter, app, props, "publishingScopes") {
			report("deadLetterTopic", "subscription %q: app %q may not publish to its dead-letter topic %q under the publishingScopes/allowedTopics of component %q in profile %q", s.name, app, s.deadLetter, ps.Name, p.name)
		}
	}
}

// topicAllowed mirrors dapr@v1.18.2 pkg/runtime/pubsub.IsOperationAllowed with the scoped topics of
// pkg/scopes.GetScopedTopics: allowedTopics restricts every app; an app listed in the scope key may use
// only its listed topics; an unlisted app (or one listed with no topics) may use any topic that is not in
// protectedTopics.
func topicAllowed(topic, app string, props map[string]string, scopeKey string) bool {
	list := func(v string) []string {
		var out []string
		for _, t := range strings.Split(strings.ReplaceAll(v, " ", ""), ",") {
			if t != "" {
				out = append(out, t)
			}
		}
		return out
	}
	if allowed := list(props["allowedtopics"]); len(allowed) > 0 && !slices.Contains(allowed, topic) {
		return false
	}
	protected := slices.Contains(list(props["protectedtopics"]), topic)
	var scoped []string
	for _, entry := range strings.Split(strings.ReplaceAll(props[strings.ToLower(scopeKey)], " ", ""), ";") {
		name, topics, ok := strings.Cut(entry, "=")
		if ok && name == app {
			scoped = append(scoped, list(topics)...)
		}
	}
	if !protected && len(scoped) == 0 {
		return true
	}
	return slices.Contains(scoped, topic)
}

func (ch *checker) summaries(profiles []*folder) []ProfileSummary {
	out := make([]ProfileSummary, 0, len(profiles))
	for _, p := range profiles {
		ps := ProfileSummary{Name: p.name}
		for _, c := range p.components {
			cs := ComponentSummary{Name: c.Name, Type: c.Type, Version: c.Version}
			if reg, ok := ch.cat.Registration(c.Type); ok {
				cs.Stable = reg.Stable
			}
			ps.Components = append(ps.Components, cs)
		}
		sort.Slice(ps.Components, func(i, j int) bool { return ps.Components[i].Name < ps.Components[j].Name })
		out = append(out, ps)
	}
	return out
}

func sorted(list []string) []string { return slices.Sorted(slices.Values(list)) }

func sameSet(a, b []string) bool { return slices.Equal(sorted(a), sorted(b)) }

// suggest returns ` (did you mean "x"?)` for the closest candidate within a typo's distance, or "".
func suggest(got string, candidates []string) string {
	best, bestDist := "", 0
	for _, c := range candidates {
		d := editDistance(strings.ToLower(got), strings.ToLower(c))
		if d == 0 {
			continue
		}
		if best == "" || d < bestDist {
			best, bestDist = c, d
		}
	}
	limit := 2
	if len(got) > 12 {
		limit = 3
	}
	if best == "" || bestDist > limit {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// editDistance is the optimal-string-alignment distance: insertions, deletions, substitutions and
// transpositions of adjacent characters each cost 1, so "redisHots" is one edit from "redisHost".
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
