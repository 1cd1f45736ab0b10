// Package web is the gin side of every orderflow service: the engine with its middleware (request and trace
// ids, access log, panic recovery), strict JSON binding, health endpoints, and the one mapper that turns an
// apperr.Error into an HTTP status and an RFC 9457 problem document.
package web

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"orderflow/internal/apperr"
	"orderflow/internal/platform/logging"
)

// ProblemContentType is the media type of error responses (RFC 9457).
const ProblemContentType = "application/problem+json"

// Problem is the JSON body of every error response.
type Problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail,omitempty"`
	Field     string `json:"field,omitempty"`
	Instance  string `json:"instance,omitempty"`
	RequestID string `json:"requestId,omitempty"`
}

var statusByCode = map[apperr.Code]int{
	apperr.Invalid:     http.StatusBadRequest,
	apperr.Forbidden:   http.StatusForbidden,
	apperr.NotFound:    http.StatusNotFound,
	apperr.Conflict:    http.StatusConflict,
	apperr.Unavailable: http.StatusServiceUnavailable,
	apperr.Internal:    http.StatusInternalServerError,
}

// StatusOf maps an error to the HTTP status a client should see.
func StatusOf(err error) int {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return http.StatusRequestEntityTooLarge
	}
	if s, ok := statusByCode[apperr.CodeOf(err)]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// Error writes err as a problem response. Client errors show their message; server errors are logged with
// their cause and shown only as a generic detail, so internals never leak.
func Error(c *gin.Context, err error) {
	status := StatusOf(err)
	p := Problem{
		Type:      "about:blank",
		Title:     http.StatusText(status),
		Status:    status,
		Instance:  c.Request.URL.Path,
		RequestID: c.GetString(requestIDKey),
	}
	log := logging.From(c.Request.Context()).WithError(err)
	switch {
	case status == http.StatusRequestEntityTooLarge:
		p.Detail = "request body too large"
	case status >= 500:
		log.Error("request failed")
		p.Detail = "the server could not complete the request; retry later or report the requestId"
		if e, ok := apperr.As(err); ok && e.Code == apperr.Unavailable {
			p.Detail = e.Message
		}
	default:
		log.Debug("request rejected")
		if e, ok := apperr.As(err); ok {
			p.Detail, p.Field = e.Message, e.Field
		}
	}
	c.Header("Content-Type", ProblemContentType)
	c.AbortWithStatusJSON(status, p)
}

// WriteProblem answers with a problem document for a status no apperr code describes (401, 405).
func WriteProblem(c *gin.Context, status int, detail string) {
	c.Header("Content-Type", ProblemContentType)
	c.AbortWithStatusJSON(status, Problem{
		Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail,
		Instance: c.Request.URL.Path, RequestID: c.GetString(requestIDKey),
	})
}
