package k8scheck

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"

	subscriptionsv2alpha1 "github.com/dapr/dapr/pkg/apis/subscriptions/v2alpha1"
	"sigs.k8s.io/yaml"
)

// Project is what the rest of the repository says the Kubernetes deployment must agree with.
type Project struct {
	// Root is the repository root the project was loaded from.
	Root string
	// Apps are dapr.yaml's apps, in its order.
	Apps []App
	// Subscriptions are the declarative subscriptions of components/shared/subscriptions.yaml.
	Subscriptions []Subscription
}

// App is one app of dapr.yaml.
type App struct {
	ID   string
	Port int
	// Env is the app's own environment in dapr.yaml (not the common one).
	Env map[string]string
}

// Subscription is one declarative subscription: App receives Topic from the pub/sub component PubSub.
type Subscription struct {
	Name   string
	App    string
	PubSub string
	Topic  string
}

// The files LoadProject reads, relative to the repository root.
const (
	DaprRunFile       = "dapr.yaml"
	SubscriptionsFile = "components/shared/subscriptions.yaml"
)

// LoadProject reads dapr.yaml and components/shared/subscriptions.yaml under root.
func LoadProject(root string) (*Project, error) {
	apps, err := loadApps(filepath.Join(root, DaprRunFile))
	if err != nil {
		return nil, err
	}
	subs, err := loadSubscriptions(filepath.Join(root, SubscriptionsFile))
	if err != nil {
		return nil, err
	}
	return &Project{Root: root, Apps: apps, Subscriptions: subs}, nil
}

// App returns dapr.yaml's app with the given id.
func (p *Project) App(id string) (App, bool) {
	for _, a := range p.Apps {
		if a.ID == id {
			return a, true
		}
	}
	return App{}, false
}

// Topics returns the topics app subscribes to, sorted.
func (p *Project) Topics(app string) []string {
	var topics []string
	for _, s := range p.Subscriptions {
		if s.App == app && !slices.Contains(topics, s.Topic) {
			topics = append(topics, s.Topic)
		}
	}
	sort.Strings(topics)
	return topics
}

// Subscribers returns the apps with at least one subscription, in dapr.yaml's order.
func (p *Project) Subscribers() []string {
	var out []string
	for _, a := range p.Apps {
		if len(p.Topics(a.ID)) > 0 {
			out = append(out, a.ID)
		}
	}
	return out
}

// daprRunFile is the part of the Dapr CLI's multi-app run template this package needs.
type daprRunFile struct {
	Apps []struct {
		AppID   string            `json:"appID"`
		AppPort int               `json:"appPort"`
		Env     map[string]string `json:"env"`
	} `json:"apps"`
}

func loadApps(path string) ([]App, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f daprRunFile
	if err := yaml.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var apps []App
	var errs []error
	for i, a := range f.Apps {
		if a.AppID == "" || a.AppPort <= 0 {
			errs = append(errs, fmt.Errorf("%s: apps[%d] needs an appID and an appPort", path, i))
			continue
		}
		apps = append(apps, App{ID: a.AppID, Port: a.AppPort, Env: a.Env})
	}
	if len(apps) == 0 && len(errs) == 0 {
		errs = append(errs, fmt.Errorf("%s lists no apps", path))
	}
	return apps, errors.Join(errs...)
}

func loadSubscriptions(path string) ([]Subscription, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	objs, err := Decode(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var subs []Subscription
	var errs []error
	for _, o := range objs {
		s, ok := o.Value.(*subscriptionsv2alpha1.Subscription)
		if !ok {
			errs = append(errs, fmt.Errorf("%s: %s: only dapr.io/v2alpha1 Subscriptions belong here", path, o.Ref))
			continue
		}
		// The file's convention is one subscription per consuming app and topic, which is also what makes
		// each (app, topic) a consumer group or broker subscription of its own.
		if len(s.Scopes) != 1 {
			errs = append(errs, fmt.Errorf("%s: %s must be scoped to exactly one app, has %v", path, o.Ref, s.Scopes))
			continue
		}
		subs = append(subs, Subscription{Name: s.Name, App: s.Scopes[0], PubSub: s.Spec.Pubsubname, Topic: s.Spec.Topic})
	}
	return subs, errors.Join(errs...)
}
