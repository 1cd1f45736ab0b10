package componentcheck

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
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
func (ch *checker) at(c *component, line int, key, format string, args ...any) {
	if line == 0 {
		line = c.line
	}
	ch.add(Problem{File: c.file, Line: line, Component: c.name, Key: key, Message: fmt.Sprintf(format, args...)})
}

// component checks one Component document. contexts are the profiles it is loaded with.
func (ch *checker) component(c *component, contexts []*folder) {
	if c.name == "" {
		ch.at(c, 0, "metadata.name", "a Component has no metadata.name")
		return
	}
	if c.apiVersion != "dapr.io/v1alpha1" {
		ch.at(c, 0, "apiVersion", "component %q: apiVersion %q is not dapr.io/v1alpha1", c.name, c.apiVersion)
	}
	if c.typ == "" || c.version == "" {
		ch.at(c, c.typeLine, "spec.type", "component %q: spec.type and spec.version are both required", c.name)
		return
	}
	def, err := ch.cat.Definition(c.typ, c.version)
	switch {
	case errors.Is(err, errUnknownType):
		ch.at(c, c.typeLine, "spec.type", "component %q: spec.type %q is not a component of daprd %s%s",
			c.name, c.typ, ch.cat.DaprVersion, suggest(c.typ, ch.cat.Types()))
		return
	case errors.Is(err, errUnknownVersion):
		reg, _ := ch.cat.Registration(c.typ)
		ch.at(c, c.typeLine, "spec.version", "component %q: daprd %s has no version %q of %s (it has %s)",
			c.name, ch.cat.DaprVersion, c.version, c.typ, strings.Join(reg.Versions, ", "))
		return
	case err != nil:
		ch.at(c, c.typeLine, "spec.type", "component %q: cannot check %s %s against components-contrib %s: %v",
			c.name, c.typ, c.version, ch.cat.ContribVersion, err)
		return
	}
	label := fmt.Sprintf("component %q (%s %s)", c.name, def.Type, def.Version)
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
func (ch *checker) capabilities(c *component, def *Definition, label string) {
	need := storeNeeds[c.name]
	if len(need) == 0 || !strings.HasPrefix(def.Type, "state.") {
		return
	}
	if len(def.Capabilities) == 0 {
		ch.at(c, c.typeLine, "spec.type", "%s: components-contrib declares no capabilities for it, so it cannot be shown to support %s, which %s relies on",
			label, strings.Join(need, " and "), c.name)
		return
	}
	for _, n := range need {
		if !slices.Contains(def.Capabilities, n) {
			ch.at(c, c.typeLine, "spec.type", "%s: does not support %q, which %s relies on (internal/kv); it supports %s",
				label, n, c.name, strings.Join(def.Capabilities, ", "))
		}
	}
}

// keys checks that every metadata key is declared, set once, and given exactly one kind of value.
func (ch *checker) keys(c *component, def *Definition, label string) {
	declared := def.allFields()
	extra := map[string]bool{}
	for _, k := range daprLevelKeys[kindOf(def.Type)] {
		extra[strings.ToLower(k)] = true
	}
	for _, k := range def.SourceKeys {
		extra[strings.ToLower(k)] = true
	}
	seen := map[string]int{}
	for _, item := range c.metadata {
		if item.name == "" {
			ch.at(c, item.line, "", "%s: a metadata item has no name", label)
			continue
		}
		lower := strings.ToLower(item.name)
		if first, dup := seen[lower]; dup {
			ch.at(c, item.line, item.name, "%s: metadata %q is set twice (first at line %d)", label, item.name, first)
		}
		seen[lower] = item.line
		if _, ok := declared[lower]; !ok && !extra[lower] {
			candidates := def.names()
			candidates = append(candidates, daprLevelKeys[kindOf(def.Type)]...)
			ch.at(c, item.line, item.name, "%s: metadata %q is not declared by %s %s in components-contrib %s (%s) nor read by daprd for %s components%s",
				label, item.name, def.Type, def.Version, ch.cat.ContribVersion, def.Source, kindOf(def.Type), suggest(item.name, candidates))
		}
		sources := 0
		for _, set := range []bool{item.hasValue, item.secretRef != nil, item.envRef != ""} {
			if set {
				sources++
			}
		}
		switch {
		case sources == 0:
			ch.at(c, item.line, item.name, "%s: metadata %q has no value, secretKeyRef or envRef", label, item.name)
		case sources > 1:
			ch.at(c, item.line, item.name, "%s: metadata %q sets more than one of value, secretKeyRef and envRef", label, item.name)
		}
	}
}

// secrets checks that credentials are secret references, and that references name a secret store.
func (ch *checker) secrets(c *component, def *Definition, label string, contexts []*folder) {
	declared := def.allFields()
	var refs []metadataItem
	for _, item := range c.metadata {
		if item.secretRef != nil {
			refs = append(refs, item)
			if item.secretRef.name == "" {
				ch.at(c, item.line, item.name, "%s: metadata %q has a secretKeyRef without a name", label, item.name)
			}
			continue
		}
		if declared[strings.ToLower(item.name)].Sensitive || credentialName(item.name) {
			how := "value"
			if item.envRef != "" && !item.hasValue {
				how = "envRef"
			}
			ch.at(c, item.line, item.name, "%s: metadata %q holds a credential and must use secretKeyRef, not %s", label, item.name, how)
		}
	}

	if kindOf(def.Type) == "secretstores" {
		switch {
		case len(refs) == 0:
		case def.hasIdentityProfile():
			ch.at(c, refs[0].line, refs[0].name, "%s: a secret store must not read its credentials from a secret store (metadata %q): authenticate it with workload identity instead", label, refs[0].name)
		case c.secretStore != kubernetesStore:
			ch.at(c, refs[0].line, refs[0].name, "%s: metadata %q: %s %s has no workload-identity option in Dapr %s, so its key can only come from Dapr's built-in Kubernetes store; set auth.secretStore: %s",
				label, refs[0].name, def.Type, def.Version, ch.cat.DaprVersion, kubernetesStore)
		}
		return
	}

	if len(refs) > 0 && c.secretStore == "" {
		for _, item := range refs {
			ch.at(c, item.line, item.name, "%s: metadata %q uses secretKeyRef but the component sets no auth.secretStore (name the profile's secret store; Dapr's implicit Kubernetes store is not accepted)", label, item.name)
		}
	}
	if c.secretStore == "" {
		return
	}
	for _, p := range contexts {
		store := p.byName(c.secretStore)
		if store == nil || kindOf(strings.ToLower(store.typ)) != "secretstores" {
			ch.at(c, c.secretStoreLine, "auth.secretStore", "%s: auth.secretStore %q is not a secret-store component of profile %q", label, c.secretStore, p.name)
		}
	}
}

// kubernetesStore is the secret store daprd provides on Kubernetes without a component.
const kubernetesStore = "kubernetes"

// required checks required keys and authentication profiles.
func (ch *checker) required(c *component, def *Definition, label string) {
	present := map[string]bool{} // keys with a value, a reference or an env var
	for _, item := range c.metadata {
		if item.secretRef != nil || item.envRef != "" || (item.hasValue && item.value != "") {
			present[strings.ToLower(item.name)] = true
		}
	}
	directions := c.directions()
	for _, f := range def.Fields {
		if !f.Required || f.Default != "" || present[strings.ToLower(f.Name)] {
			continue
		}
		if f.Direction != "" && directions != nil && !directions[f.Direction] {
			continue // e.g. an input-only key of a binding used for output
		}
		ch.at(c, c.typeLine, f.Name, "%s: required metadata %q is missing", label, f.Name)
	}
	if ok, missing, detail := satisfiedProfile(def, c.metadata, present); !ok {
		ch.at(c, c.typeLine, missing, "%s: no authentication profile is satisfied: %s", label, detail)
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
func satisfiedProfile(def *Definition, items []metadataItem, present map[string]bool) (ok bool, missing, detail string) {
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
		k := strings.ToLower(item.name)
		if _, isBase := base[k]; !isBase && inProfiles[k] {
			chosen = append(chosen, item.name)
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
func (ch *checker) direction(c *component, def *Definition, label string) {
	dirs := c.directions()
	if dirs == nil || kindOf(def.Type) != "bindings" {
		return
	}
	reg, _ := ch.cat.Registration(def.Type)
	for d := range dirs {
		ok := (d == "input" && reg.Input) || (d == "output" && reg.Output)
		if !ok {
			ch.at(c, c.itemLine("direction"), "direction", "%s: direction %q: daprd does not register %s as an %s binding", label, d, def.Type, d)
		}
	}
}

// directions returns the directions a binding's "direction" metadata names, or nil when it is not set.
func (c *component) directions() map[string]bool {
	for _, item := range c.metadata {
		if strings.EqualFold(item.name, "direction") && item.hasValue {
			out := map[string]bool{}
			for _, d := range strings.Split(item.value, ",") {
				if d = strings.ToLower(strings.TrimSpace(d)); d != "" {
					out[d] = true
				}
			}
			return out
		}
	}
	return nil
}

func (c *component) itemLine(key string) int {
	for _, item := range c.metadata {
		if strings.EqualFold(item.name, key) {
			return item.line
		}
	}
	return c.line
}

// props returns the component's plain metadata values by lower-case key.
func (c *component) props() map[string]string {
	out := map[string]string{}
	for _, item := range c.metadata {
		if item.hasValue {
			out[strings.ToLower(item.name)] = item.value
		}
	}
	return out
}

func (f *folder) byName(name string) *component {
	for _, c := range f.components {
		if c.name == name {
			return c
		}
	}
	return nil
}

// consistency compares every profile with the reference profile.
func (ch *checker) consistency(profiles []*folder, shared *folder, ref *folder) {
	for _, p := range profiles {
		seen := map[string]*component{}
		for _, c := range p.components {
			if c.name == "" {
				continue
			}
			if first, dup := seen[c.name]; dup {
				ch.at(c, 0, "metadata.name", "component %q is defined twice in profile %q (also at %s:%d)", c.name, p.name, first.file, first.line)
			}
			seen[c.name] = c
			if shared != nil {
				if s := shared.byName(c.name); s != nil {
					ch.at(c, 0, "metadata.name", "component %q is defined both here and in %s; Dapr would load it twice", c.name, s.file)
				}
			}
		}
	}
	for _, p := range profiles {
		if p == ref {
			continue
		}
		for _, rc := range ref.components {
			if rc.name != "" && p.byName(rc.name) == nil {
				ch.add(Problem{File: p.path, Component: rc.name,
					Message: fmt.Sprintf("profile %q does not define component %q (profile %q does, in %s)", p.name, rc.name, ref.name, rc.file)})
			}
		}
		for _, c := range p.components {
			rc := ref.byName(c.name)
			if c.name == "" {
				continue
			}
			if rc == nil {
				ch.at(c, 0, "metadata.name", "component %q is not defined by profile %q: every profile must define the same components", c.name, ref.name)
				continue
			}
			if !sameSet(c.scopes, rc.scopes) {
				ch.at(c, c.scopesLine, "scopes", "component %q: scopes %v differ from profile %q (%v)", c.name, sorted(c.scopes), ref.name, sorted(rc.scopes))
			}
			if k, rk := kindOf(strings.ToLower(c.typ)), kindOf(strings.ToLower(rc.typ)); c.typ != "" && rc.typ != "" && k != rk {
				ch.at(c, c.typeLine, "spec.type", "component %q is a %s component (%s) here but a %s component (%s) in profile %q", c.name, k, c.typ, rk, rc.typ, ref.name)
			}
		}
	}
}

// references checks Subscription and Resiliency documents against the components of each profile.
func (ch *checker) references(profiles []*folder, shared *folder) {
	lookupIn := func(p *folder, name string) *component {
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

func (ch *checker) subscription(s *subscription, p *folder, ps *component) {
	line := s.pubsubLine
	if line == 0 {
		line = s.line
	}
	report := func(key, format string, args ...any) {
		ch.add(Problem{File: s.file, Line: line, Component: s.name, Key: key, Message: fmt.Sprintf(format, args...)})
	}
	if ps == nil || kindOf(strings.ToLower(ps.typ)) != "pubsub" {
		report("pubsubname", "subscription %q: pubsubname %q is not a pub/sub component of profile %q", s.name, s.pubsub, p.name)
		return
	}
	props := ps.props()
	for _, app := range s.scopes {
		if len(ps.scopes) > 0 && !slices.Contains(ps.scopes, app) {
			report("scopes", "subscription %q: app %q is not in the scopes of component %q in profile %q", s.name, app, ps.name, p.name)
			continue
		}
		if s.topic != "" && !topicAllowed(s.topic, app, props, "subscriptionScopes") {
			report("topic", "subscription %q: app %q may not subscribe to %q under the subscriptionScopes/allowedTopics of component %q in profile %q", s.name, app, s.topic, ps.name, p.name)
		}
		if s.deadLetter != "" && !topicAllowed(s.deadLetter, app, props, "publishingScopes") {
			report("deadLetterTopic", "subscription %q: app %q may not publish to its dead-letter topic %q under the publishingScopes/allowedTopics of component %q in profile %q", s.name, app, s.deadLetter, ps.name, p.name)
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
			cs := ComponentSummary{Name: c.name, Type: c.typ, Version: c.version}
			if reg, ok := ch.cat.Registration(c.typ); ok {
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
