package daprx_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orderflow/internal/apperr"
	"orderflow/internal/platform/daprx"
	"orderflow/internal/platform/tracing"
)

// TestServiceInvokerSpeaksTheSidecarsInvokeAPI checks the request the sidecar gets (Dapr's HTTP invoke API)
// and how the answers are told apart: the app's own, whatever its status, pass through; the sidecar's own
// errors (the call never reached the app) are Unavailable. Against a stand-in for the sidecar; the console's
// browser test calls through real ones.
func TestServiceInvokerSpeaksTheSidecarsInvokeAPI(t *testing.T) {
	t.Parallel()
	var got *http.Request
	var body []byte
	sidecar := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, body = r, mustRead(t, r.Body)
		switch r.URL.Query().Get("case") {
		case "unreachable":
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte(`{"errorCode":"ERR_DIRECT_INVOKE","message":"failed to invoke, id: orders"}`))
		case "refused":
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(`{"status":403,"detail":"this operation requires the \"admin\" role"}`))
		default:
			_, _ = w.Write([]byte(`{"ok":true}`))
		}
	}))
	t.Cleanup(sidecar.Close)
	_, portText, err := net.SplitHostPort(sidecar.Listener.Addr().String())
	require.NoError(t, err)
	port, err := strconv.Atoi(portText)
	require.NoError(t, err)
	inv := daprx.NewServiceInvoker(sidecar.Client(), port, "api-token")
	ctx := tracing.Into(context.Background(), tracing.FromHeader("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"))

	ans, err := inv.Invoke(ctx, daprx.Call{App: "orders-x1", Method: http.MethodPost, Path: "/v1/orders",
		Header: http.Header{"Authorization": {"Bearer t"}}, Body: []byte(`{"a":1}`)})
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, ans.Status)
	assert.JSONEq(t, `{"ok":true}`, string(ans.Body))
	assert.Equal(t, "/v1.0/invoke/orders-x1/method/v1/orders", got.URL.Path)
	assert.Equal(t, "api-token", got.Header.Get("dapr-api-token"))
	assert.Equal(t, "Bearer t", got.Header.Get("Authorization"), "the caller's headers travel to the app")
	assert.Contains(t, got.Header.Get("traceparent"), "4bf92f3577b34da6a3ce929d0e0e4736")
	assert.Equal(t, `{"a":1}`, string(body))

	ans, err = inv.Invoke(ctx, daprx.Call{App: "deadletters", Method: http.MethodGet, Path: "/v1/deadletters", Query: url.Values{"case": {"refused"}}})
	require.NoError(t, err, "an app's refusal is an answer")
	assert.Equal(t, http.StatusForbidden, ans.Status)

	_, err = inv.Invoke(ctx, daprx.Call{App: "orders", Method: http.MethodGet, Path: "/readyz", Query: url.Values{"case": {"unreachable"}}})
	require.Error(t, err)
	assert.Equal(t, apperr.Unavailable, apperr.CodeOf(err))
	assert.Contains(t, err.Error(), "ERR_DIRECT_INVOKE")

	sidecar.Close()
	_, err = inv.Invoke(ctx, daprx.Call{App: "orders", Method: http.MethodGet, Path: "/readyz"})
	assert.Equal(t, apperr.Unavailable, apperr.CodeOf(err), "no sidecar")
}

func mustRead(t *testing.T, r io.Reader) []byte {
	t.Helper()
	b, err := io.ReadAll(r)
	require.NoError(t, err)
	return b
}
