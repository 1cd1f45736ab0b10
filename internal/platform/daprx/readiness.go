package daprx

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"

	dapr "github.com/dapr/go-sdk/client"
)

// MetadataClient is the part of the Dapr client the subscription check uses.
type MetadataClient interface {
	GetMetadata(ctx context.Context) (*dapr.GetMetadataResponse, error)
}

// SidecarHealthy checks the sidecar's own health endpoint, which answers 204 only once daprd has loaded its
// components and connected to the app.
func SidecarHealthy(httpClient *http.Client, daprHTTPPort int) func(ctx context.Context) error {
	url := fmt.Sprintf("http://127.0.0.1:%d/v1.0/healthz", daprHTTPPort)
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := httpClient.Do(req)
		if err != nil {
			return fmt.Errorf("sidecar not reachable at %s: %w", url, err)
		}
		defer resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			return fmt.Errorf("sidecar at %s answered %s", url, resp.Status)
		}
		return nil
	}
}

// SubscriptionsRegistered checks that the sidecar holds a subscription on pubsub for every topic the app
// handles — the declarative Subscription resources were found, parsed and scoped to this app — and that it
// has started consuming them (started reports the sidecar's GET /dapr/subscribe, which precedes that).
func SubscriptionsRegistered(client MetadataClient, pubsub string, topics []string, started func() bool) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		if len(topics) > 0 && !started() {
			return fmt.Errorf("the sidecar has not started the subscriptions yet (it does once the app is healthy)")
		}
		md, err := client.GetMetadata(ctx)
		if err != nil {
			return fmt.Errorf("reading sidecar metadata: %w", err)
		}
		var have []string
		for _, s := range md.Subscriptions {
			if s.PubsubName == pubsub {
				have = append(have, s.Topic)
			}
		}
		var missing []string
		for _, t := range topics {
			if !slices.Contains(have, t) {
				missing = append(missing, t)
			}
		}
		if len(missing) > 0 {
			return fmt.Errorf("no subscription on %s for topics %s (check components/*/subscriptions and their scopes)",
				pubsub, strings.Join(missing, ", "))
		}
		return nil
	}
}

// ComponentsLoaded checks that the sidecar loaded every component the app uses. A component can be skipped
// without daprd failing (scoped to other apps, or referring to a secret store this app cannot see), and the
// app would then fail on first use; this makes it fail readiness instead, naming what is missing.
func ComponentsLoaded(client MetadataClient, names []string) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		md, err := client.GetMetadata(ctx)
		if err != nil {
			return fmt.Errorf("reading sidecar metadata: %w", err)
		}
		var missing []string
		for _, n := range names {
			if !slices.ContainsFunc(md.RegisteredComponents, func(c *dapr.MetadataRegisteredComponents) bool { return c.Name == n }) {
				missing = append(missing, n)
			}
		}
		if len(missing) > 0 {
			return fmt.Errorf("the sidecar has not loaded components %s (check their scopes and secret store references in components/)",
				strings.Join(missing, ", "))
		}
		return nil
	}
}

// ComponentType returns the type (such as bindings.aws.ses) of the component the sidecar loaded as name, so an
// adapter can shape its requests for whichever component a profile puts behind a name.
func ComponentType(ctx context.Context, client MetadataClient, name string) (string, error) {
	md, err := client.GetMetadata(ctx)
	if err != nil {
		return "", fmt.Errorf("reading sidecar metadata: %w", err)
	}
	for _, c := range md.RegisteredComponents {
		if c.Name == name {
			return c.Type, nil
		}
	}
	return "", fmt.Errorf("the sidecar has not loaded component %q", name)
}
