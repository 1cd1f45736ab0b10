// Package labels is shipping's adapter for label storage: it writes each shipping label through the
// "shipping-labels" output binding, whatever component a profile puts behind that name.
package labels

import (
	"context"
	"encoding/json"

	"orderflow/apps/shipping/shipment"
	"orderflow/internal/platform/daprx"
)

// Binding stores labels through the "shipping-labels" output binding: one JSON document per order,
// named so that a retry overwrites rather than duplicates — fileName for local files, key for S3 and Cloud
// Storage, blobName for Azure Blob Storage; each binding reads its own and ignores the others.
type Binding struct{ binding daprx.Invoker }

// New returns label storage on binding.
func New(binding daprx.Invoker) *Binding { return &Binding{binding: binding} }

// Put implements shipment.Labels.
func (b *Binding) Put(ctx context.Context, l shipment.Label) error {
	doc, err := json.MarshalIndent(l, "", "  ")
	if err != nil {
		return err
	}
	name := l.OrderID + ".json"
	_, _, err = b.binding.Invoke(ctx, "create", doc, map[string]string{"fileName": name, "key": name, "blobName": name, "contentType": "application/json"})
	return err
}
