package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orderflow/internal/apperr"
	"orderflow/internal/platform/web"
)

func serve(t *testing.T, handler gin.HandlerFunc, body string) (*httptest.ResponseRecorder, web.Problem) {
	t.Helper()
	log := logrus.New()
	log.SetLevel(logrus.PanicLevel)
	e := web.NewEngine(logrus.NewEntry(log))
	e.POST("/x", handler)
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/x", bytes.NewBufferString(body)))
	var p web.Problem
	_ = json.Unmarshal(rec.Body.Bytes(), &p)
	return rec, p
}

func TestErrorMapping(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		err        error
		status     int
		detail     string
		hiddenText string
	}{
		{"invalid shows the field", apperr.Invalidf("items[0].sku", "is required"), 400, "is required", ""},
		{"not found", apperr.New(apperr.NotFound, "order x not found"), 404, "order x not found", ""},
		{"conflict", apperr.New(apperr.Conflict, "already shipped"), 409, "already shipped", ""},
		{"unavailable shows its message", apperr.Wrap(apperr.Unavailable, errors.New("dial tcp 10.0.0.1"), "state store down"), 503, "state store down", "10.0.0.1"},
		{"internal hides the cause", errors.New("nil pointer in secret place"), 500, "the server could not complete the request", "secret place"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec, p := serve(t, func(c *gin.Context) { web.Error(c, tc.err) }, "")
			assert.Equal(t, tc.status, rec.Code)
			assert.Equal(t, web.ProblemContentType, rec.Header().Get("Content-Type"))
			assert.Contains(t, p.Detail, tc.detail)
			assert.NotEmpty(t, p.RequestID)
			assert.Equal(t, rec.Header().Get(web.HeaderRequestID), p.RequestID)
			if tc.hiddenText != "" {
				assert.NotContains(t, rec.Body.String(), tc.hiddenText, "internals are never leaked")
			}
		})
	}
}

func TestPanicsBecomeProblems(t *testing.T) {
	t.Parallel()
	rec, p := serve(t, func(*gin.Context) { panic("boom") }, "")
	assert.Equal(t, http.StatusInternalServerError, rec.Code)
	assert.Equal(t, 500, p.Status)
	assert.NotContains(t, rec.Body.String(), "boom")
}

func TestBindJSON(t *testing.T) {
	t.Parallel()
	type item struct {
		Quantity int `json:"quantity"`
	}
	type body struct {
		Name  string `json:"name"`
		Items []item `json:"items"`
	}
	tests := []struct {
		name, body, field string
	}{
		{"valid", `{"name":"a","items":[{"quantity":1}]}`, ""},
		{"empty", ``, "body"},
		{"malformed", `{"name":`, "body"},
		{"unknown field", `{"nmae":"a"}`, "nmae"},
		{"wrong type", `{"items":[{"quantity":"1"}]}`, "items.quantity"},
		{"two documents", `{"name":"a"}{"name":"b"}`, "body"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec, p := serve(t, func(c *gin.Context) {
				var b body
				if err := web.BindJSON(c, &b); err != nil {
					web.Error(c, err)
					return
				}
				c.Status(http.StatusNoContent)
			}, tc.body)
			if tc.field == "" {
				require.Equal(t, http.StatusNoContent, rec.Code)
				return
			}
			require.Equal(t, http.StatusBadRequest, rec.Code)
			assert.Equal(t, tc.field, p.Field)
		})
	}
}

func TestRequireAppToken(t *testing.T) {
	t.Parallel()
	e := gin.New()
	e.GET("/x", web.RequireAppToken("tok"), func(c *gin.Context) { c.Status(http.StatusNoContent) })
	for header, want := range map[string]int{"": 401, "nope": 401, "tok": 204} {
		req := httptest.NewRequest(http.MethodGet, "/x", nil)
		req.Header.Set(web.HeaderDaprAPIToken, header)
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		assert.Equal(t, want, rec.Code, "token %q", header)
	}
}

func TestReadinessTellsWhyOnlyOnTheOpsPort(t *testing.T) {
	t.Parallel()
	silent := logrus.New()
	silent.SetLevel(logrus.PanicLevel)
	public, ops := web.NewEngine(logrus.NewEntry(silent)), web.NewEngine(logrus.NewEntry(silent))
	failing := errors.New("component orders-store not loaded by sidecar 127.0.0.1:3500")
	web.RegisterHealth(public, ops,
		web.Check{Name: "sidecar", Func: func(context.Context) error { return nil }},
		web.Check{Name: "components", Func: func(context.Context) error { return failing }},
	)
	get := func(e *gin.Engine, path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		return rec
	}
	tests := []struct {
		name   string
		engine *gin.Engine
		reason bool
	}{
		{"public port: which check fails, not why", public, false},
		{"ops port: why it fails", ops, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, http.StatusOK, get(tc.engine, "/healthz").Code)
			rec := get(tc.engine, "/readyz")
			assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
			var body struct {
				Status string `json:"status"`
				Checks []struct {
					Name  string `json:"name"`
					OK    bool   `json:"ok"`
					Error string `json:"error"`
				} `json:"checks"`
			}
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
			assert.Equal(t, "not ready", body.Status)
			require.Len(t, body.Checks, 2)
			assert.True(t, body.Checks[0].OK)
			assert.False(t, body.Checks[1].OK)
			if tc.reason {
				assert.Equal(t, failing.Error(), body.Checks[1].Error)
			} else {
				assert.NotContains(t, rec.Body.String(), "orders-store")
				assert.NotContains(t, rec.Body.String(), "127.0.0.1")
			}
		})
	}
}
