package cardprovider_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orderflow/apps/cardsim/sim"
	"orderflow/apps/payments/cardprovider"
	"orderflow/apps/payments/payment"
)

// binding stands in for the sidecar's card-provider binding (bindings.http, errorIfNot2XX) in front of the
// card simulator, served over real HTTP so a dropped connection is a real one: it honours the path and
// errorIfNot2XX metadata, answers statusCode metadata, gives up after a timeout, and fails the call when the
// connection is dropped — as daprd reports all three, as an error.
type binding struct {
	url  string
	down bool
}

// simulator returns a binding in front of a fresh card simulator.
func simulator(t *testing.T) *binding {
	t.Helper()
	srv := httptest.NewServer(sim.New().Handler())
	t.Cleanup(srv.Close)
	return &binding{url: srv.URL}
}

const timeout = 50 * time.Millisecond

func (b *binding) Invoke(ctx context.Context, operation string, data []byte, meta map[string]string) ([]byte, map[string]string, error) {
	if b.down {
		return nil, nil, errors.New("rpc error: code = Unavailable desc = connection refused")
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, strings.ToUpper(operation), b.url+meta["path"], bytes.NewReader(data))
	if err != nil {
		return nil, nil, err
	}
	for k, v := range meta {
		if k[0] >= 'A' && k[0] <= 'Z' {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("rpc error: code = Internal desc = %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, fmt.Errorf("rpc error: code = Internal desc = %w", err)
	}
	if meta["errorIfNot2XX"] != "false" && resp.StatusCode/100 != 2 {
		return nil, nil, fmt.Errorf("rpc error: code = Internal desc = received status code %d", resp.StatusCode)
	}
	return body, map[string]string{"statusCode": strconv.Itoa(resp.StatusCode)}, nil
}

func TestChargeAndLookupAgainstTheSimulator(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, token   string
		wantChargeErr error
		wantApproved  bool
		wantDecline   string
		wantLookupErr error
	}{
		{name: "approved", token: "tok_visa", wantApproved: true},
		{name: "declined", token: "tok_insufficient_funds", wantDecline: "insufficient_funds"},
		{name: "slow approval", token: "tok_slow_approve", wantChargeErr: payment.ErrOutcomeUnknown, wantApproved: true},
		{name: "approval then dropped connection", token: "tok_approve_drop", wantChargeErr: payment.ErrOutcomeUnknown, wantApproved: true},
		{name: "rate limited", token: "tok_rate_limited", wantChargeErr: payment.ErrOutcomeUnknown, wantLookupErr: payment.ErrNoSuchCharge},
		{name: "never answers", token: "tok_timeout", wantChargeErr: payment.ErrOutcomeUnknown, wantLookupErr: payment.ErrNoSuchCharge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			p := cardprovider.New(simulator(t), "sk_test_0123456789")
			key := "order-" + tc.token
			charged, err := p.Charge(ctx, payment.ChargeRequest{IdempotencyKey: key, AmountCents: 100, Currency: "USD", CardToken: tc.token})
			if tc.wantChargeErr != nil {
				require.ErrorIs(t, err, tc.wantChargeErr)
			} else {
				require.NoError(t, err)
				assert.Equal(t, tc.wantApproved, charged.Approved)
				assert.Equal(t, tc.wantDecline, charged.DeclineCode)
			}
			found, err := p.FindCharge(ctx, key)
			if tc.wantLookupErr != nil {
				require.ErrorIs(t, err, tc.wantLookupErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.wantApproved, found.Approved)
			assert.Equal(t, tc.wantDecline, found.DeclineCode)
			assert.NotEmpty(t, found.ChargeID)
			if tc.wantChargeErr == nil {
				assert.Equal(t, charged.ChargeID, found.ChargeID)
			}
		})
	}
}

func TestProviderUnreachable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := cardprovider.New(&binding{down: true}, "sk_test_0123456789")
	_, err := p.Charge(ctx, payment.ChargeRequest{IdempotencyKey: "k", AmountCents: 100, CardToken: "tok_visa"})
	assert.ErrorIs(t, err, payment.ErrOutcomeUnknown, "a failed charge call may still have charged")
	_, err = p.FindCharge(ctx, "k")
	assert.ErrorIs(t, err, payment.ErrProviderUnavailable)
	assert.NotErrorIs(t, err, payment.ErrNoSuchCharge, "silence is not an answer")
}

func TestLookupNeedsAValidKey(t *testing.T) {
	t.Parallel()
	p := cardprovider.New(simulator(t), "sk_live_nope")
	_, err := p.FindCharge(context.Background(), "k")
	assert.ErrorIs(t, err, payment.ErrProviderUnavailable, "a 401 is not a missing charge")
}

func TestRefund(t *testing.T) {
	t.Parallel()
	p := cardprovider.New(simulator(t), "sk_test_0123456789")
	first, err := p.Refund(context.Background(), payment.RefundRequest{IdempotencyKey: "refund-o", ChargeID: "ch_1", AmountCents: 100})
	require.NoError(t, err)
	again, err := p.Refund(context.Background(), payment.RefundRequest{IdempotencyKey: "refund-o", ChargeID: "ch_1", AmountCents: 100})
	require.NoError(t, err)
	assert.Equal(t, first, again)
}
