// Package webtest holds what every service's API tests share: one request served by a handler, and the check
// of its answer — a JSON body, or an RFC 9457 problem naming the field at fault.
package webtest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orderflow/internal/platform/web"
)

// NewEngine is the services' engine (web.NewEngine) with its logging silenced, for API tests.
func NewEngine() *gin.Engine {
	log := logrus.New()
	log.SetLevel(logrus.PanicLevel)
	return web.NewEngine(logrus.NewEntry(log))
}

// Call serves one request on h. The body goes as application/json unless headers set another Content-Type.
func Call(h http.Handler, method, path, body string, headers map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, bytes.NewBufferString(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// Want is the answer a test case expects: a status with a JSON body, or — when Detail is set — a problem with
// that detail, naming Field (empty when the problem names none).
type Want struct {
	Status        int
	JSON          string
	Field, Detail string
}

// Check asserts that rec is the answer want describes.
func Check(t *testing.T, rec *httptest.ResponseRecorder, want Want) {
	t.Helper()
	require.Equal(t, want.Status, rec.Code, rec.Body.String())
	if want.Detail == "" {
		assert.JSONEq(t, want.JSON, rec.Body.String())
		return
	}
	assert.Equal(t, web.ProblemContentType, rec.Header().Get("Content-Type"))
	var p web.Problem
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &p))
	assert.Equal(t, want.Status, p.Status)
	assert.Equal(t, want.Field, p.Field)
	assert.Equal(t, want.Detail, p.Detail)
}
