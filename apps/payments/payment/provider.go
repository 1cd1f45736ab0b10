package payment

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"orderflow/internal/events"
)

// Invoker is an output binding (daprx.Binding).
type Invoker interface {
	Invoke(ctx context.Context, operation string, data []byte, meta map[string]string) ([]byte, map[string]string, error)
}

// BindingProvider reaches the card provider's HTTP API through the "card-provider" output binding
// (bindings.http), so the sidecar's resiliency policy — timeout, retries, circuit breaker — governs every
// call, and swapping the provider's address is a YAML edit. The API key travels as a bearer token; it comes
// from the secret store.
type BindingProvider struct {
	binding Invoker
	apiKey  string
}

// NewBindingProvider returns a provider calling through binding with apiKey.
func NewBindingProvider(binding Invoker, apiKey string) *BindingProvider {
	return &BindingProvider{binding: binding, apiKey: apiKey}
}

// wire types of the provider's API (see apps/payments/cardsim).
type chargeBody struct {
	IdempotencyKey string `json:"idempotencyKey"`
	AmountCents    int64  `json:"amountCents"`
	Currency       string `json:"currency"`
	CardToken      string `json:"cardToken"`
	Description    string `json:"description"`
}

type chargeReply struct {
	ID          string `json:"id"`
	Status      string `json:"status"`
	DeclineCode string `json:"declineCode"`
	Message     string `json:"message"`
}

type refundBody struct {
	IdempotencyKey string `json:"idempotencyKey"`
	ChargeID       string `json:"chargeId"`
	AmountCents    int64  `json:"amountCents"`
}

type refundReply struct {
	ID     string `json:"id"`
	Status string `json:"status"`
}

// Charge implements CardProvider.
func (p *BindingProvider) Charge(ctx context.Context, req ChargeRequest) (ChargeResult, error) {
	var reply chargeReply
	if err := p.post(ctx, "/v1/charges", chargeBody(req), &reply); err != nil {
		return ChargeResult{}, err
	}
	switch reply.Status {
	case "succeeded":
		return ChargeResult{ChargeID: reply.ID, Approved: true}, nil
	case "declined":
		return ChargeResult{ChargeID: reply.ID, DeclineCode: declineCode(reply.DeclineCode), Message: orDefault(reply.Message, "the card was declined")}, nil
	}
	return ChargeResult{}, fmt.Errorf("%w: unexpected charge status %q", ErrProviderFailed, reply.Status)
}

// Refund implements CardProvider.
func (p *BindingProvider) Refund(ctx context.Context, req RefundRequest) (string, error) {
	var reply refundReply
	if err := p.post(ctx, "/v1/refunds", refundBody(req), &reply); err != nil {
		return "", err
	}
	if reply.Status != "succeeded" {
		return "", fmt.Errorf("%w: refund %s", ErrProviderFailed, reply.Status)
	}
	return reply.ID, nil
}

func (p *BindingProvider) post(ctx context.Context, path string, body, reply any) error {
	raw, err := json.Marshal(body)
	if err != nil {
		return err
	}
	out, _, err := p.binding.Invoke(ctx, "post", raw, map[string]string{
		"path":          path,
		"Authorization": "Bearer " + p.apiKey,
		"Content-Type":  "application/json",
	})
	if err != nil {
		return classify(err)
	}
	if err := json.Unmarshal(out, reply); err != nil {
		return fmt.Errorf("%w: unreadable answer: %v", ErrProviderFailed, err)
	}
	return nil
}

// classify tells a provider failure (the sidecar called it and gave up after its retries: gRPC Internal)
// from a sidecar the app could not reach (transient: the event is redelivered and the charge retried).
func classify(err error) error {
	var st interface{ GRPCStatus() *status.Status }
	if errors.As(err, &st) && st.GRPCStatus().Code() == codes.Internal {
		return fmt.Errorf("%w: %v", ErrProviderFailed, err)
	}
	return err
}

// declineCode maps the provider's decline codes onto the ones payment.failed documents; anything unknown is a
// plain decline.
func declineCode(code string) string {
	switch code {
	case events.PaymentInsufficientFunds, events.PaymentAmountOverLimit:
		return code
	}
	return events.PaymentDeclined
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
