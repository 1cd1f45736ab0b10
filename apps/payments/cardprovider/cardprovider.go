// Package cardprovider is payments' adapter onto the card provider's HTTP API, reached through the
// "card-provider" output binding (bindings.http), so the sidecar's resiliency policy — timeout, retries,
// circuit breaker — governs every call, and swapping the provider's address is a YAML edit. The API key
// travels as a bearer token; it comes from the secret store.
//
// It translates the binding's answers into the domain's terms (payment.ErrOutcomeUnknown,
// payment.ErrProviderUnavailable, payment.ErrNoSuchCharge). Whatever makes a charge call fail — the
// sidecar's 1 s timeout, a 5xx or 429 left after its retries, a dropped connection, an open breaker, the
// sidecar itself unreachable — the request may have been processed, so every such failure is an unknown
// outcome, never a decline; the domain then asks the provider's status API.
package cardprovider

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"

	"orderflow/apps/payments/payment"
	"orderflow/internal/platform/daprx"
)

// Provider implements payment.CardProvider over the binding.
type Provider struct {
	binding daprx.Invoker
	apiKey  string
}

var _ payment.CardProvider = (*Provider)(nil)

// New returns a provider calling through binding with apiKey.
func New(binding daprx.Invoker, apiKey string) *Provider {
	return &Provider{binding: binding, apiKey: apiKey}
}

// wire types of the provider's API (see apps/cardsim).
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

// Charge implements payment.CardProvider. Non-2xx answers fail inside the binding (errorIfNot2XX in
// components/*/bindings.yaml), which is what makes the sidecar retry a 5xx or a 429.
func (p *Provider) Charge(ctx context.Context, req payment.ChargeRequest) (payment.ChargeResult, error) {
	var reply chargeReply
	if err := p.post(ctx, "/v1/charges", chargeBody(req), &reply); err != nil {
		return payment.ChargeResult{}, fmt.Errorf("%w: charging under key %s: %w", payment.ErrOutcomeUnknown, req.IdempotencyKey, err)
	}
	return result(reply)
}

// FindCharge implements payment.CardProvider with the provider's status API, GET
// /v1/charges?idempotencyKey=…. The binding is told not to fail on a non-2xx answer, because a 404 is an
// answer here (no charge under the key), not an outage.
func (p *Provider) FindCharge(ctx context.Context, idempotencyKey string) (payment.ChargeResult, error) {
	out, meta, err := p.binding.Invoke(ctx, "get", nil, map[string]string{
		"path":          "/v1/charges?idempotencyKey=" + url.QueryEscape(idempotencyKey),
		"errorIfNot2XX": "false",
		"Authorization": "Bearer " + p.apiKey,
	})
	if err != nil {
		return payment.ChargeResult{}, fmt.Errorf("%w: looking up the charge under key %s: %w", payment.ErrProviderUnavailable, idempotencyKey, err)
	}
	switch code := meta["statusCode"]; code {
	case "200":
	case "404":
		return payment.ChargeResult{}, fmt.Errorf("%w: key %s", payment.ErrNoSuchCharge, idempotencyKey)
	default:
		return payment.ChargeResult{}, fmt.Errorf("%w: looking up the charge under key %s: status %q: %s",
			payment.ErrProviderUnavailable, idempotencyKey, code, out)
	}
	var reply chargeReply
	if err := json.Unmarshal(out, &reply); err != nil {
		return payment.ChargeResult{}, fmt.Errorf("%w: unreadable charge under key %s: %w", payment.ErrProviderUnavailable, idempotencyKey, err)
	}
	return result(reply)
}

// result reads a charge the provider reported; any status but a decision (a real gateway's "processing")
// leaves the outcome open.
func result(reply chargeReply) (payment.ChargeResult, error) {
	switch reply.Status {
	case "succeeded":
		return payment.ChargeResult{ChargeID: reply.ID, Approved: true}, nil
	case "declined":
		return payment.ChargeResult{ChargeID: reply.ID, DeclineCode: reply.DeclineCode, Message: reply.Message}, nil
	}
	return payment.ChargeResult{}, fmt.Errorf("%w: charge %s is %q", payment.ErrOutcomeUnknown, reply.ID, reply.Status)
}

// Refund implements payment.CardProvider.
func (p *Provider) Refund(ctx context.Context, req payment.RefundRequest) (string, error) {
	var reply refundReply
	if err := p.post(ctx, "/v1/refunds", refundBody(req), &reply); err != nil {
		return "", fmt.Errorf("refunding charge %s: %w", req.ChargeID, err)
	}
	if reply.Status != "succeeded" {
		return "", fmt.Errorf("%w: refund %s of charge %s is %q", payment.ErrOutcomeUnknown, reply.ID, req.ChargeID, reply.Status)
	}
	return reply.ID, nil
}

func (p *Provider) post(ctx context.Context, path string, body, reply any) error {
	raw, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("encoding the request to %s: %w", path, err)
	}
	out, _, err := p.binding.Invoke(ctx, "post", raw, map[string]string{
		"path":          path,
		"Authorization": "Bearer " + p.apiKey,
		"Content-Type":  "application/json",
	})
	if err != nil {
		return err
	}
	if err := json.Unmarshal(out, reply); err != nil {
		return fmt.Errorf("unreadable answer from %s: %w", path, err)
	}
	return nil
}
