package tests

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orderflow/apps/devissuer/issuer"
	"orderflow/internal/platform/auth/authtest"
	"orderflow/tests/harness"
)

// attacker is a run of orders, inventory and deadletters (real sidecars) that trusts an issuer the test holds
// the key of, so it can also sign what no issuer would mint: expired tokens and tokens for another audience.
// It is the development issuer's own code (apps/devissuer/issuer), served over HTTP: the services find it
// through discovery and its JWKS, as any provider.
type attacker struct {
	sys    *harness.System
	issuer *issuer.Issuer
}

func startAttacker(t *testing.T) attacker {
	t.Helper()
	iss := authtest.New(t)
	env := map[string]map[string]string{}
	for _, app := range []string{"orders", "inventory", "deadletters"} {
		env[app] = map[string]string{"AUTH_ISSUER": iss.URL()}
	}
	sys := harness.Start(t, harness.Options{Apps: []string{"orders", "inventory", "deadletters"}, Env: env})
	return attacker{sys: sys, issuer: iss.Issuer}
}

// bearer is the Authorization header of a token for sub with roles.
func (a attacker) bearer(t *testing.T, sub string, roles ...string) map[string]string {
	t.Helper()
	tok, err := a.issuer.Mint(issuer.Request{Subject: sub, Roles: roles})
	require.NoError(t, err)
	return map[string]string{"Authorization": "Bearer " + tok.AccessToken}
}

// signed is the Authorization header of a token for c-42 with claims changed by edit.
func (a attacker) signed(t *testing.T, edit map[string]any) map[string]string {
	t.Helper()
	now := time.Now()
	claims := map[string]any{"iss": a.issuer.URL(), "aud": "orderflow", "sub": "c-42", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	for k, v := range edit {
		claims[k] = v
	}
	raw, err := a.issuer.Sign(claims)
	require.NoError(t, err)
	return map[string]string{"Authorization": "Bearer " + raw}
}

func (a attacker) url(t *testing.T, app string) string {
	t.Helper()
	return a.sys.App(t, app).URL()
}

// TestBearerTokens is an attacker's view of the public APIs: without a valid token nothing answers; with a
// customer's token, other customers' orders are invisible (404, as for an id that does not exist, so ids
// cannot be probed) and cannot be cancelled or placed for them; operators' routes want the admin role.
func TestBearerTokens(t *testing.T) {
	t.Parallel()
	a := startAttacker(t)
	ada, eve, ops := a.bearer(t, "c-42"), a.bearer(t, "c-666"), a.bearer(t, "ops-1", "admin")
	body := func(customer string) map[string]any {
		b := orderBody("tok_visa", "SKU-1", 1)
		if customer == "" {
			delete(b, "customerId")
		} else {
			b["customerId"] = customer
		}
		return b
	}
	place := func(headers map[string]string, customer string) sagaOrder {
		t.Helper()
		r := harness.Do(t, http.MethodPost, a.url(t, "orders")+"/v1/orders", body(customer), headers)
		require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
		var o sagaOrder
		r.JSON(t, &o)
		return o
	}
	adas := place(ada, "c-42")
	eves := place(eve, "") // customerId left out: the token's subject
	// Listing reads the customer's index, which orders' own order.placed subscription writes a moment later.
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		r := harness.Do(t, http.MethodGet, a.url(t, "orders")+"/v1/orders", nil, eve)
		var list struct{ Orders []sagaOrder }
		r.JSON(t, &list)
		assert.Len(c, list.Orders, 1)
	}, settle, 100*time.Millisecond)

	none := map[string]string{"Authorization": ""}
	forbidden := "must be the authenticated customer's id (the bearer token's subject), or be left out"
	tests := []struct {
		name, method, app, path string
		headers                 map[string]string
		body                    any
		status                  int
		// field is the problem's field; for a 200, ids are the orders a listing must show, exactly.
		field string
		ids   []string
	}{
		{name: "no token", method: http.MethodGet, app: "orders", path: "/v1/orders", headers: none, status: http.StatusUnauthorized},
		{name: "not a token", method: http.MethodGet, app: "orders", path: "/v1/orders",
			headers: map[string]string{"Authorization": "Bearer not.a.token"}, status: http.StatusUnauthorized},
		{name: "an expired token", method: http.MethodGet, app: "orders", path: "/v1/orders",
			headers: a.signed(t, map[string]any{"exp": time.Now().Add(-time.Hour).Unix()}), status: http.StatusUnauthorized},
		{name: "a token for another audience", method: http.MethodGet, app: "orders", path: "/v1/orders",
			headers: a.signed(t, map[string]any{"aud": "billing"}), status: http.StatusUnauthorized},
		{name: "a token from an issuer the run does not trust", method: http.MethodGet, app: "orders", path: "/v1/orders",
			headers: a.sys.Bearer(t, "c-42"), status: http.StatusUnauthorized},
		{name: "no token on an operator's route", method: http.MethodGet, app: "deadletters", path: "/v1/deadletters",
			headers: none, status: http.StatusUnauthorized},

		{name: "own order", method: http.MethodGet, app: "orders", path: "/v1/orders/" + adas.ID, headers: ada, status: http.StatusOK},
		{name: "another customer's order", method: http.MethodGet, app: "orders", path: "/v1/orders/" + adas.ID, headers: eve,
			status: http.StatusNotFound},
		{name: "listing shows only own orders", method: http.MethodGet, app: "orders", path: "/v1/orders", headers: eve,
			status: http.StatusOK, ids: []string{eves.ID}},
		{name: "listing another customer's orders", method: http.MethodGet, app: "orders", path: "/v1/orders?customerId=c-42",
			headers: eve, status: http.StatusForbidden, field: "customerId"},
		{name: "cancelling another customer's order", method: http.MethodPost, app: "orders", path: "/v1/orders/" + adas.ID + "/cancel",
			headers: eve, status: http.StatusNotFound},
		{name: "placing for another customer", method: http.MethodPost, app: "orders", path: "/v1/orders", headers: eve,
			body: body("c-42"), status: http.StatusForbidden, field: "customerId"},

		{name: "a customer on the overdue listing", method: http.MethodGet, app: "orders", path: "/v1/orders/overdue", headers: ada,
			status: http.StatusForbidden},
		{name: "a customer changing the catalog", method: http.MethodPut, app: "inventory", path: "/v1/products/SKU-1", headers: ada,
			body: map[string]any{"name": "Free", "priceCents": 0, "available": 1}, status: http.StatusForbidden},
		{name: "a customer reading a reservation", method: http.MethodGet, app: "inventory", path: "/v1/reservations/" + adas.ID,
			headers: ada, status: http.StatusForbidden},
		{name: "a customer on the dead letters", method: http.MethodGet, app: "deadletters", path: "/v1/deadletters", headers: ada,
			status: http.StatusForbidden},
		{name: "the catalog is public", method: http.MethodGet, app: "inventory", path: "/v1/products", headers: none, status: http.StatusOK},
		{name: "an operator on the overdue listing", method: http.MethodGet, app: "orders", path: "/v1/orders/overdue", headers: ops,
			status: http.StatusOK},
		{name: "an operator on the dead letters", method: http.MethodGet, app: "deadletters", path: "/v1/deadletters", headers: ops,
			status: http.StatusOK},
		{name: "an operator changing the catalog", method: http.MethodPut, app: "inventory", path: "/v1/products/AUTH-1", headers: ops,
			body: map[string]any{"name": "Auth test", "priceCents": 100, "available": 1}, status: http.StatusCreated},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := harness.Do(t, tc.method, a.url(t, tc.app)+tc.path, tc.body, tc.headers)
			require.Equal(t, tc.status, r.Status, string(r.Body))
			if tc.status/100 == 2 {
				if tc.ids != nil {
					var list struct{ Orders []sagaOrder }
					r.JSON(t, &list)
					ids := make([]string, len(list.Orders))
					for i, o := range list.Orders {
						ids[i] = o.ID
					}
					assert.Equal(t, tc.ids, ids)
				}
				return
			}
			assert.Equal(t, "application/problem+json", r.Header.Get("Content-Type"))
			var p struct {
				Status int    `json:"status"`
				Field  string `json:"field"`
				Detail string `json:"detail"`
			}
			r.JSON(t, &p)
			assert.Equal(t, tc.status, p.Status)
			assert.Equal(t, tc.field, p.Field)
			if tc.field == "customerId" {
				assert.Equal(t, forbidden, p.Detail)
			}
			if tc.status == http.StatusNotFound {
				assert.NotContains(t, string(r.Body), "c-42", "nothing about the order's owner")
			}
			if tc.status == http.StatusUnauthorized {
				assert.NotEmpty(t, r.Header.Get("WWW-Authenticate"))
			}
		})
	}
	// Once the subtests are done: the attacker's cancel request published nothing.
	t.Cleanup(func() {
		r := harness.Do(t, http.MethodGet, a.url(t, "orders")+"/v1/orders/"+adas.ID, nil, ada)
		var o sagaOrder
		r.JSON(t, &o)
		assert.Nil(t, o.CancelRequestedAt, "nobody but c-42 asked to cancel c-42's order")
	})
}

// TestIdempotencyKeyIsNoOracle: another customer's Idempotency-Key is a new key for this customer, not a 409
// that would say the key exists (or a replay that would show the other customer's order).
func TestIdempotencyKeyIsNoOracle(t *testing.T) {
	t.Parallel()
	a := startAttacker(t)
	key := "shared-" + a.sys.Suffix
	withKey := func(h map[string]string) map[string]string {
		return map[string]string{"Authorization": h["Authorization"], "Idempotency-Key": key}
	}
	first := harness.Do(t, http.MethodPost, a.url(t, "orders")+"/v1/orders", orderBody("tok_visa", "SKU-1", 1), withKey(a.bearer(t, "c-42")))
	require.Equal(t, http.StatusCreated, first.Status, string(first.Body))
	other := orderBody("tok_visa", "SKU-2", 3)
	delete(other, "customerId")
	second := harness.Do(t, http.MethodPost, a.url(t, "orders")+"/v1/orders", other, withKey(a.bearer(t, "c-666")))
	require.Equal(t, http.StatusCreated, second.Status, string(second.Body))
	assert.NotEqual(t, first.Header.Get("Location"), second.Header.Get("Location"))
}
