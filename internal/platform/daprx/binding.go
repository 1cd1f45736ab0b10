package daprx

import (
	"context"

	dapr "github.com/dapr/go-sdk/client"
)

// BindingClient is the part of the Dapr client an output binding uses.
type BindingClient interface {
	InvokeBinding(ctx context.Context, in *dapr.InvokeBindingRequest) (*dapr.BindingEvent, error)
}

// Invoker is what the services' binding adapters (card provider, labels, mailer) call: one output binding, so
// their tests can stand in for the sidecar. Binding implements it.
type Invoker interface {
	Invoke(ctx context.Context, operation string, data []byte, meta map[string]string) ([]byte, map[string]string, error)
}

var _ Invoker = (*Binding)(nil)

// Binding invokes one output binding component.
type Binding struct {
	client BindingClient
	name   string
}

// NewBinding returns a Binding for the component called name.
func NewBinding(client BindingClient, name string) *Binding {
	return &Binding{client: client, name: name}
}

// Invoke runs operation with data and metadata and returns the response body and metadata. Failures are
// classified as transient: the binding's resiliency policy has already retried them.
func (b *Binding) Invoke(ctx context.Context, operation string, data []byte, meta map[string]string) ([]byte, map[string]string, error) {
	out, err := b.client.InvokeBinding(ctx, &dapr.InvokeBindingRequest{Name: b.name, Operation: operation, Data: data, Metadata: meta})
	if err != nil {
		return nil, nil, unavailable(err, "invoking binding %s (%s)", b.name, operation)
	}
	if out == nil {
		return nil, nil, nil
	}
	return out.Data, out.Metadata, nil
}
