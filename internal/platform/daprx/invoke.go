package daprx

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"orderflow/internal/apperr"
	"orderflow/internal/platform/tracing"
)

// ServiceInvoker calls other apps' HTTP APIs through the app's own sidecar — Dapr service invocation over the
// sidecar's HTTP API, /v1.0/invoke/<app-id>/method/<path> — so the sidecar resolves the app id, applies the
// Resiliency policy for that app, and in a cluster talks mTLS to the target's sidecar, whose access control
// decides whether the call is allowed.
//
// Not the SDK's InvokeMethod: it uses the gRPC InvokeService API, which daprd 1.18 logs as deprecated (as it
// does gRPC-to-HTTP invocation), and which turns a non-2xx answer into a gRPC error that keeps neither the
// status code nor the headers of the app's problem document. A caller showing those to a person needs both.
type ServiceInvoker struct {
	client   *http.Client
	base     string
	apiToken string
}

// NewServiceInvoker returns an invoker through the sidecar's HTTP API on 127.0.0.1:daprHTTPPort, sending
// apiToken (DAPR_API_TOKEN) when set.
func NewServiceInvoker(client *http.Client, daprHTTPPort int, apiToken string) *ServiceInvoker {
	return &ServiceInvoker{client: client, base: "http://127.0.0.1:" + strconv.Itoa(daprHTTPPort) + "/v1.0/invoke/", apiToken: apiToken}
}

// Call is one request to another app: its app id, method and path on the app (such as /v1/orders), query,
// headers and body.
type Call struct {
	App    string
	Method string
	Path   string
	Query  url.Values
	Header http.Header
	Body   []byte
}

// Answer is the app's response, read in full.
type Answer struct {
	Status int
	Header http.Header
	Body   []byte
}

// maxAnswerBytes bounds what is read of an answer; orderflow's largest (a page of dead letters with their
// events) stays far below it.
const maxAnswerBytes = 8 << 20

// Invoke sends c. Whatever the app answers (any status) is returned as the Answer; an error means the call
// did not reach the app or its answer could not be read — the sidecar is down, or it could not reach the
// target (Dapr answers those itself, with its own error code) — and is apperr.Unavailable.
func (s *ServiceInvoker) Invoke(ctx context.Context, c Call) (Answer, error) {
	target := s.base + url.PathEscape(c.App) + "/method/" + strings.TrimPrefix(c.Path, "/")
	if len(c.Query) > 0 {
		target += "?" + c.Query.Encode()
	}
	var body io.Reader
	if c.Body != nil {
		body = bytes.NewReader(c.Body)
	}
	req, err := http.NewRequestWithContext(ctx, c.Method, target, body)
	if err != nil {
		return Answer{}, fmt.Errorf("invoking %s %s on %s: %w", c.Method, c.Path, c.App, err)
	}
	for k, vs := range c.Header {
		req.Header[k] = vs
	}
	if s.apiToken != "" {
		req.Header.Set("dapr-api-token", s.apiToken)
	}
	if tp := tracing.From(ctx); tp.TraceID != "" {
		req.Header.Set("traceparent", tp.String())
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return Answer{}, unavailable(err, "invoking %s %s on %s through the sidecar", c.Method, c.Path, c.App)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err != nil {
		return Answer{}, unavailable(err, "reading the answer of %s %s on %s", c.Method, c.Path, c.App)
	}
	if code, msg, ok := sidecarError(resp, raw); ok {
		return Answer{}, apperr.New(apperr.Unavailable, "invoking %s %s on %s: the sidecar answered %d %s: %s",
			c.Method, c.Path, c.App, resp.StatusCode, code, msg)
	}
	return Answer{Status: resp.StatusCode, Header: resp.Header, Body: raw}, nil
}

// sidecarError recognises an answer the sidecar wrote itself because the call never reached the app (the
// target is unknown, unreachable or refused the call): a JSON body with a Dapr errorCode (ERR_DIRECT_INVOKE,
// ERR_PERMISSION_DENIED, …). An app's own answers are passed through, whatever their status.
func sidecarError(resp *http.Response, body []byte) (string, string, bool) {
	if resp.StatusCode < 400 {
		return "", "", false
	}
	var e struct {
		ErrorCode string `json:"errorCode"`
		Message   string `json:"message"`
	}
	if json.Unmarshal(body, &e) != nil || !strings.HasPrefix(e.ErrorCode, "ERR_") {
		return "", "", false
	}
	return e.ErrorCode, e.Message, true
}
