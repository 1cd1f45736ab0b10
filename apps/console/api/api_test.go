package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orderflow/apps/console/api"
	"orderflow/apps/console/board"
	"orderflow/apps/console/login"
	"orderflow/apps/console/services"
	"orderflow/internal/events"
	"orderflow/internal/kv/kvfake"
	"orderflow/internal/platform/auth/authtest"
	"orderflow/internal/platform/daprx"
	"orderflow/internal/platform/subscriber"
	"orderflow/internal/platform/web/webtest"
)

// sidecar stands in for the console's sidecar: it answers service invocations from a table of routes and
// records the calls, as the binding adapters' tests stand in for theirs.
type sidecar struct {
	mu     sync.Mutex
	routes map[string]func(c daprx.Call) daprx.Answer // "app METHOD /path"
	calls  []daprx.Call
}

func (s *sidecar) Invoke(_ context.Context, c daprx.Call) (daprx.Answer, error) {
	s.mu.Lock()
	s.calls = append(s.calls, c)
	route := s.routes[c.App+" "+c.Method+" "+c.Path]
	s.mu.Unlock()
	if route == nil {
		return daprx.Answer{Status: http.StatusNotFound, Body: []byte(`{"status":404,"detail":"not found"}`)}, nil
	}
	return route(c), nil
}

func (s *sidecar) on(key string, status int, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.routes[key] = func(daprx.Call) daprx.Answer { return daprx.Answer{Status: status, Body: []byte(body)} }
}

func (s *sidecar) called(key string) []daprx.Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []daprx.Call
	for _, c := range s.calls {
		if c.App+" "+c.Method+" "+c.Path == key {
			out = append(out, c)
		}
	}
	return out
}

type console struct {
	handler  http.Handler
	board    *board.Service
	sidecar  *sidecar
	sessions *login.Sessions
	issuer   *authtest.Issuer
}

func newConsole(t *testing.T, traceURL string) *console {
	t.Helper()
	iss := authtest.New(t)
	b, err := board.NewService(kvfake.New[board.Order](), kvfake.New[board.Shard](), 50, time.Now)
	require.NoError(t, err)
	sc := &sidecar{routes: map[string]func(daprx.Call) daprx.Answer{}}
	sc.on("inventory GET /v1/products", 200, `{"products":[{"sku":"SKU-1","name":"Beans","priceCents":1999,"available":10}]}`)
	provider, err := login.NewProvider(login.Config{ClientID: "orderflow-console", APIToken: login.AccessToken}, iss.URL(),
		"http://127.0.0.1:8087/callback", iss.Verifier)
	require.NoError(t, err)
	sessions := login.NewSessions(kvfake.New[login.Session](), kvfake.New[login.Pending](), time.Now)
	e := webtest.NewEngine()
	r := subscriber.NewRouter(e, "", "")
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	require.NoError(t, api.Register(ctx, e, r, api.Deps{
		Board: b, Services: services.New(sc, services.Apps{Orders: "orders", Inventory: "inventory", Payments: "payments",
			Shipping: "shipping", Notifications: "notifications", Deadletters: "deadletters"}),
		Health: []services.App{{Name: "orders", ID: "orders"}}, Login: provider, Sessions: sessions, TraceURL: traceURL,
		Now: time.Now, Done: ctx.Done(),
	}))
	return &console{handler: e, board: b, sidecar: sc, sessions: sessions, issuer: iss}
}

// signedIn opens a session as the development issuer would have it, and returns its cookie and session.
func (c *console) signedIn(t *testing.T, sub string, roles ...string) (*http.Cookie, login.Session) {
	t.Helper()
	tok := c.issuer.Token(t, sub, roles...)
	value, sess, err := c.sessions.Open(context.Background(), login.Identity{Subject: sub, Roles: roles, Token: tok, Expiry: time.Now().Add(time.Hour)})
	require.NoError(t, err)
	return &http.Cookie{Name: "__Host-orderflow-session", Value: value}, sess
}

func (c *console) do(method, target string, form url.Values, cookies ...*http.Cookie) *httptest.ResponseRecorder {
	var req *http.Request
	if form != nil {
		req = httptest.NewRequest(method, target, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		req = httptest.NewRequest(method, target, nil)
	}
	for _, ck := range cookies {
		req.AddCookie(ck)
	}
	rec := httptest.NewRecorder()
	c.handler.ServeHTTP(rec, req)
	return rec
}

func placed(id, customer string) board.Event {
	return board.Event{ID: events.ID(id, events.OrderPlaced), Kind: events.OrderPlaced, Source: "orders", Time: time.Now(),
		TraceID: "4bf92f3577b34da6a3ce929d0e0e4736",
		Data:    events.OrderPlacedData{OrderID: id, CustomerID: customer, Items: []events.Item{{SKU: "SKU-1", Quantity: 1}}, PlacedAt: time.Now()}}
}

func cookie(rec *httptest.ResponseRecorder, name string) *http.Cookie {
	for _, c := range rec.Result().Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func TestWithoutASessionPagesSendYouToSignIn(t *testing.T) {
	t.Parallel()
	c := newConsole(t, "")
	tests := []struct {
		name, method, path string
		status             int
		location           string
	}{
		{"the board", http.MethodGet, "/", http.StatusSeeOther, "/login?next=%2F"},
		{"an order page", http.MethodGet, "/orders/o-1?x=1", http.StatusSeeOther, "/login?next=%2Forders%2Fo-1%3Fx%3D1"},
		{"a live stream", http.MethodGet, "/live/board", http.StatusUnauthorized, ""},
		{"a form", http.MethodPost, "/orders", http.StatusUnauthorized, ""},
		{"an operators' page", http.MethodGet, "/deadletters", http.StatusSeeOther, "/login?next=%2Fdeadletters"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := c.do(tc.method, tc.path, nil, &http.Cookie{Name: "__Host-orderflow-session", Value: "forged"})
			assert.Equal(t, tc.status, rec.Code)
			assert.Equal(t, tc.location, rec.Header().Get("Location"))
		})
	}
}

func TestSignInWithTheAuthorizationCodeFlow(t *testing.T) {
	t.Parallel()
	c := newConsole(t, "")
	rec := c.do(http.MethodGet, "/login?next=/stock", nil)
	require.Equal(t, http.StatusSeeOther, rec.Code)
	state := cookie(rec, "__Host-orderflow-login")
	require.NotNil(t, state)
	assert.True(t, state.Secure && state.HttpOnly && state.SameSite == http.SameSiteLaxMode && state.Path == "/")
	authURL, err := url.Parse(rec.Header().Get("Location"))
	require.NoError(t, err)
	assert.Equal(t, "S256", authURL.Query().Get("code_challenge_method"))

	// The person signs in at the issuer, which sends the browser back with a code.
	form := authURL.Query()
	form.Set("sub", "ops-1")
	form.Set("admin", "on")
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.PostForm(c.issuer.URL()+"/authorize", form)
	require.NoError(t, err)
	resp.Body.Close()
	back, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)

	t.Run("a callback from another browser's login is refused", func(t *testing.T) {
		rec := c.do(http.MethodGet, "/callback?"+back.RawQuery, nil, &http.Cookie{Name: "__Host-orderflow-login", Value: "someone-elses"})
		assert.Equal(t, http.StatusForbidden, rec.Code)
		assert.Nil(t, cookie(rec, "__Host-orderflow-session"))
	})
	rec = c.do(http.MethodGet, "/callback?"+back.RawQuery, nil, state)
	require.Equal(t, http.StatusSeeOther, rec.Code, rec.Body.String())
	assert.Equal(t, "/stock", rec.Header().Get("Location"), "back where the person wanted to go")
	session := cookie(rec, "__Host-orderflow-session")
	require.NotNil(t, session)
	assert.True(t, session.Secure && session.HttpOnly && session.SameSite == http.SameSiteLaxMode)
	assert.Greater(t, session.MaxAge, 3000)

	rec = c.do(http.MethodGet, "/", nil, session)
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Contains(t, rec.Body.String(), `ops-1 <span class="role">admin</span>`)
	assert.Contains(t, rec.Body.String(), `href="/deadletters"`, "operators see the operators' pages")
	assert.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
	assert.Contains(t, rec.Header().Get("Content-Security-Policy"), "frame-ancestors 'none'")

	t.Run("the same callback again is refused", func(t *testing.T) {
		rec := c.do(http.MethodGet, "/callback?"+back.RawQuery, nil, state)
		assert.Equal(t, http.StatusForbidden, rec.Code)
	})
	t.Run("signing out ends the session", func(t *testing.T) {
		_, sess, _ := sessionFor(t, c, session)
		rec := c.do(http.MethodPost, "/logout", url.Values{"csrf": {sess.CSRF}}, session)
		require.Equal(t, http.StatusOK, rec.Code)
		assert.Equal(t, -1, cookie(rec, "__Host-orderflow-session").MaxAge)
		assert.Equal(t, http.StatusSeeOther, c.do(http.MethodGet, "/", nil, session).Code)
	})
}

func sessionFor(t *testing.T, c *console, ck *http.Cookie) (string, login.Session, bool) {
	t.Helper()
	s, ok, err := c.sessions.Find(context.Background(), ck.Value)
	require.NoError(t, err)
	return ck.Value, s, ok
}

func TestFormsNeedTheSessionsCSRFToken(t *testing.T) {
	t.Parallel()
	c := newConsole(t, "")
	ck, sess := c.signedIn(t, "c-42")
	form := url.Values{"email": {"ada@example.com"}, "qty-SKU-1": {"1"}, "card": {"tok_visa"}}
	tests := []struct {
		name   string
		csrf   string
		header map[string]string
	}{
		{"no token", "", nil},
		{"another session's token", "not-this-one", nil},
		{"the right token from another site", sess.CSRF, map[string]string{"Sec-Fetch-Site": "cross-site"}},
		{"the right token from another origin", sess.CSRF, map[string]string{"Origin": "https://evil.example"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := url.Values{}
			for k, v := range form {
				f[k] = v
			}
			f.Set("csrf", tc.csrf)
			req := httptest.NewRequest(http.MethodPost, "/orders", strings.NewReader(f.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			req.AddCookie(ck)
			rec := httptest.NewRecorder()
			c.handler.ServeHTTP(rec, req)
			assert.Equal(t, http.StatusForbidden, rec.Code)
		})
	}
	assert.Empty(t, c.sidecar.called("orders POST /v1/orders"), "no refused form reached orders")
}

func TestPlacingAnOrderCallsOrdersAsTheCustomer(t *testing.T) {
	t.Parallel()
	c := newConsole(t, "")
	ck, sess := c.signedIn(t, "c-42")
	page := c.do(http.MethodGet, "/orders/new", nil, ck)
	require.Equal(t, http.StatusOK, page.Code)
	assert.Contains(t, page.Body.String(), `id="qty-SKU-1"`, "items from the live catalog")
	assert.Contains(t, page.Body.String(), `value="tok_declined"`, "the failure tokens")

	c.sidecar.on("orders POST /v1/orders", http.StatusCreated, `{"id":"o-9","status":"PENDING"}`)
	form := url.Values{"csrf": {sess.CSRF}, "idempotency_key": {strings.Repeat("a", 32)}, "email": {"ada@example.com"},
		"qty-SKU-1": {"2"}, "other_sku": {"SKU-404"}, "other_qty": {"1"}, "card": {"tok_declined"}}
	rec := c.do(http.MethodPost, "/orders", form, ck)
	require.Equal(t, http.StatusSeeOther, rec.Code, rec.Body.String())
	assert.Equal(t, "/?placed=o-9", rec.Header().Get("Location"))
	calls := c.sidecar.called("orders POST /v1/orders")
	require.Len(t, calls, 1)
	assert.Equal(t, "Bearer "+sess.Token, calls[0].Header.Get("Authorization"), "the person's own token")
	assert.Equal(t, strings.Repeat("a", 32), calls[0].Header.Get("Idempotency-Key"))
	assert.JSONEq(t, `{"email":"ada@example.com","items":[{"sku":"SKU-1","quantity":2},{"sku":"SKU-404","quantity":1}],"payment":{"cardToken":"tok_declined"}}`,
		string(calls[0].Body))

	t.Run("a refusal is shown on the form, naming the field", func(t *testing.T) {
		c.sidecar.on("orders POST /v1/orders", http.StatusBadRequest, `{"status":400,"detail":"must be a plain e-mail address","field":"email"}`)
		form.Set("email", "not-an-address")
		rec := c.do(http.MethodPost, "/orders", form, ck)
		assert.Equal(t, http.StatusBadRequest, rec.Code)
		assert.Contains(t, rec.Body.String(), "email: must be a plain e-mail address")
		assert.Contains(t, rec.Body.String(), `aria-invalid="true"`)
		assert.Contains(t, rec.Body.String(), `value="not-an-address"`, "what was typed stays")
	})
	t.Run("no item", func(t *testing.T) {
		rec := c.do(http.MethodPost, "/orders", url.Values{"csrf": {sess.CSRF}, "email": {"ada@example.com"}, "qty-SKU-1": {"0"}}, ck)
		assert.Equal(t, http.StatusBadRequest, rec.Code)
		assert.Contains(t, rec.Body.String(), "Choose at least one item")
	})
	t.Run("a quantity that is not one", func(t *testing.T) {
		rec := c.do(http.MethodPost, "/orders", url.Values{"csrf": {sess.CSRF}, "email": {"ada@example.com"}, "qty-SKU-1": {"-3"}}, ck)
		assert.Equal(t, http.StatusBadRequest, rec.Code)
		assert.Contains(t, rec.Body.String(), "whole numbers from 0 to 1000: SKU-1")
	})
}

func TestOrderPagesFollowTheServicesAuthorization(t *testing.T) {
	t.Parallel()
	c := newConsole(t, "http://localhost:16686/trace/{traceId}")
	require.NoError(t, c.board.Apply(context.Background(), placed("o-7", "c-7")))
	c.sidecar.on("payments GET /v1/payments/o-7", 200, `{"status":"CHARGED","amountCents":1999,"currency":"USD","paymentId":"pay-1"}`)
	mine, _ := c.signedIn(t, "c-42")
	theirs, _ := c.signedIn(t, "c-7")
	ops, _ := c.signedIn(t, "ops-1", "admin")

	// orders answers only its customer (the fake sidecar answers 404 to anyone else, as orders does).
	c.sidecar.routes["orders GET /v1/orders/o-7"] = func(call daprx.Call) daprx.Answer {
		if tok := strings.TrimPrefix(call.Header.Get("Authorization"), "Bearer "); tok != "" {
			if p, err := c.issuer.Verifier.Verify(context.Background(), tok); err == nil && p.Subject == "c-7" {
				return daprx.Answer{Status: 200, Body: []byte(`{"id":"o-7","status":"PENDING","email":"c7@example.com"}`)}
			}
		}
		return daprx.Answer{Status: 404, Body: []byte(`{"status":404,"detail":"order o-7 not found"}`)}
	}
	tests := []struct {
		name    string
		who     *http.Cookie
		status  int
		present []string
	}{
		{"another customer gets the 404 of an unknown order", mine, http.StatusNotFound, nil},
		{"its customer sees everything, and may cancel", theirs, http.StatusOK, []string{"c7@example.com", "CHARGED", `id="cancel"`, `id="trace-link"`}},
		{"an operator sees it, without what orders keeps for the customer", ops, http.StatusOK, []string{"orders shows an order to its customer only", "CHARGED"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := c.do(http.MethodGet, "/orders/o-7", nil, tc.who)
			assert.Equal(t, tc.status, rec.Code)
			for _, s := range tc.present {
				assert.Contains(t, rec.Body.String(), s)
			}
			if tc.status == http.StatusNotFound {
				assert.NotContains(t, rec.Body.String(), "c-7")
				assert.NotContains(t, rec.Body.String(), "CHARGED")
			}
		})
	}
	assert.Contains(t, c.do(http.MethodGet, "/orders/o-7", nil, theirs).Body.String(),
		`href="http://localhost:16686/trace/4bf92f3577b34da6a3ce929d0e0e4736"`)
	t.Run("an id that cannot be an order is not asked for", func(t *testing.T) {
		assert.Equal(t, http.StatusNotFound, c.do(http.MethodGet, "/orders/a%20b", nil, ops).Code)
	})
}

func TestNoTraceLinkWithoutTraceURL(t *testing.T) {
	t.Parallel()
	c := newConsole(t, "")
	require.NoError(t, c.board.Apply(context.Background(), placed("o-1", "c-42")))
	ck, _ := c.signedIn(t, "c-42")
	rec := c.do(http.MethodGet, "/orders/o-1", nil, ck)
	require.Equal(t, http.StatusOK, rec.Code)
	assert.NotContains(t, rec.Body.String(), "trace-link")
}

func TestDeadLettersAreForOperators(t *testing.T) {
	t.Parallel()
	c := newConsole(t, "")
	c.sidecar.on("deadletters GET /v1/deadletters", 200, `{"deadLetters":[{"id":"dl-1","status":"pending","consumer":"inventory","topic":"order.placed","eventId":"o-1/order.placed","subject":"o-1","arrivals":1}]}`)
	c.sidecar.on("orders GET /v1/orders/overdue", 200, `{"slaSeconds":120,"overdue":1,"stuck":1,"orders":[{"id":"o-5","status":"RESERVED","stuck":true,"redrives":3}]}`)
	c.sidecar.on("deadletters GET /v1/deadletters/dl-1", 200, `{"id":"dl-1","status":"pending","consumer":"inventory","event":{"id":"o-1/order.placed"}}`)
	c.sidecar.on("deadletters POST /v1/deadletters/dl-1/replay", 200, `{"id":"dl-1","status":"replayed"}`)
	customer, _ := c.signedIn(t, "c-42")
	ops, sess := c.signedIn(t, "ops-1", "admin")

	for _, path := range []string{"/deadletters", "/deadletters/dl-1"} {
		rec := c.do(http.MethodGet, path, nil, customer)
		assert.Equal(t, http.StatusForbidden, rec.Code, path)
	}
	board := c.do(http.MethodGet, "/", nil, customer)
	assert.NotContains(t, board.Body.String(), `href="/deadletters"`, "customers are not offered the operators' pages")
	assert.Empty(t, c.sidecar.called("deadletters GET /v1/deadletters"))

	rec := c.do(http.MethodGet, "/deadletters", nil, ops)
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Contains(t, rec.Body.String(), `data-deadletter="dl-1"`)
	assert.Contains(t, rec.Body.String(), "1 overdue, 1 stuck")
	calls := c.sidecar.called("deadletters GET /v1/deadletters")
	require.Len(t, calls, 1)
	assert.Equal(t, "pending", calls[0].Query.Get("status"))
	assert.NotEmpty(t, strings.TrimPrefix(calls[0].Header.Get("Authorization"), "Bearer "))

	rec = c.do(http.MethodGet, "/deadletters/dl-1", nil, ops)
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Contains(t, rec.Body.String(), "&#34;id&#34;: &#34;o-1/order.placed&#34;", "the event, indented")
	assert.Equal(t, http.StatusForbidden, c.do(http.MethodPost, "/deadletters/dl-1/replay", url.Values{"csrf": {"x"}}, ops).Code)
	rec = c.do(http.MethodPost, "/deadletters/dl-1/replay", url.Values{"csrf": {sess.CSRF}}, ops)
	require.Equal(t, http.StatusSeeOther, rec.Code)
	assert.Equal(t, "/deadletters/dl-1?done=replay", rec.Header().Get("Location"))
	assert.Len(t, c.sidecar.called("deadletters POST /v1/deadletters/dl-1/replay"), 1)
	assert.Equal(t, http.StatusNotFound, c.do(http.MethodPost, "/deadletters/dl-1/delete", url.Values{"csrf": {sess.CSRF}}, ops).Code)
}

func TestEventRoutesFeedTheBoard(t *testing.T) {
	t.Parallel()
	c := newConsole(t, "")
	env, err := events.Wrap(events.New(events.OrderPlaced, "o-1", time.Now(), events.OrderPlacedData{OrderID: "o-1", CustomerID: "c-42",
		Items: []events.Item{{SKU: "SKU-1", Quantity: 2}}, PlacedAt: time.Now()}), "orders", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	require.NoError(t, err)
	body, err := json.Marshal(env)
	require.NoError(t, err)
	tests := []struct {
		name, body, verdict string
	}{
		{"a valid event", string(body), "SUCCESS"},
		{"the same event again", string(body), "SUCCESS"},
		{"a payload that cannot be an order", `{"specversion":"1.0","id":"x","type":"orderflow.order.placed.v1","data":{"items":"no"}}`, "DROP"},
	}
	for _, tc := range tests {
		rec := webtest.Call(c.handler, http.MethodPost, "/events/order.placed", tc.body, map[string]string{"Content-Type": "application/cloudevents+json"})
		require.Equal(t, http.StatusOK, rec.Code, tc.name)
		assert.JSONEq(t, `{"status":"`+tc.verdict+`"}`, rec.Body.String(), tc.name)
	}
	o, ok, err := c.board.Order(context.Background(), "o-1")
	require.NoError(t, err)
	require.True(t, ok)
	assert.Len(t, o.Steps, 1)
	assert.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", o.TraceID, "from the CloudEvent's traceparent")
}

// TestTheBoardStreamsChanges reads the server-sent events a board page gets: the board on connect, then each
// order that changed, rendered as a row.
func TestTheBoardStreamsChanges(t *testing.T) {
	t.Parallel()
	c := newConsole(t, "")
	require.NoError(t, c.board.Apply(context.Background(), placed("o-1", "c-42")))
	srv := httptest.NewServer(c.handler)
	t.Cleanup(srv.Close)
	ck, _ := c.signedIn(t, "c-42")
	req, err := http.NewRequest(http.MethodGet, srv.URL+"/live/board", nil)
	require.NoError(t, err)
	req.AddCookie(ck)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	events := readEvents(resp)

	first := <-events
	assert.Equal(t, "board", first.name)
	assert.Contains(t, first.data, `data-order-id=\"o-1\"`)

	require.NoError(t, c.board.Apply(context.Background(), placed("o-2", "c-7")), "another customer's order: not for this viewer")
	require.NoError(t, c.board.Apply(context.Background(), board.Event{ID: "o-1/stock.reserved", Kind: eventsKindReserved(), Source: "inventory",
		Time: time.Now(), Data: reservedData("o-1")}))
	select {
	case next := <-events:
		assert.Equal(t, "board", next.name)
		assert.Contains(t, next.data, `data-status=\"RESERVED\"`)
		assert.NotContains(t, next.data, "o-2")
	case <-time.After(5 * time.Second):
		t.Fatal("no board event after an order changed")
	}
}

func eventsKindReserved() events.Kind { return events.StockReserved }

func reservedData(id string) events.StockReservedData {
	return events.StockReservedData{OrderID: id, CustomerID: "c-42", TotalCents: 1999, Currency: "USD",
		Lines: []events.PricedLine{{SKU: "SKU-1", Quantity: 1, UnitPriceCents: 1999, LineTotalCents: 1999}}}
}

type sse struct{ name, data string }

func readEvents(resp *http.Response) <-chan sse {
	out := make(chan sse, 16)
	go func() {
		defer close(out)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		var ev sse
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				ev.name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				ev.data = strings.TrimPrefix(line, "data: ")
			case line == "" && ev.name != "":
				out <- ev
				ev = sse{}
			}
		}
	}()
	return out
}

func TestHealthShowsWhatEachReadyzSays(t *testing.T) {
	t.Parallel()
	c := newConsole(t, "")
	c.sidecar.on("orders GET /readyz", http.StatusServiceUnavailable,
		`{"status":"not ready","checks":[{"name":"sidecar","ok":true},{"name":"subscriptions","ok":false}]}`)
	ck, _ := c.signedIn(t, "c-42")
	rec := c.do(http.MethodGet, "/health", nil, ck)
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Contains(t, rec.Body.String(), "not ready")
	assert.Contains(t, rec.Body.String(), "✗ subscriptions")
	assert.Contains(t, rec.Body.String(), "✓ sidecar")

	rec = c.do(http.MethodGet, "/stock", nil, ck)
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Contains(t, rec.Body.String(), `<tr id="sku-SKU-1" data-sku="SKU-1">`)
}
