package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/sirupsen/logrus"

	"orderflow/internal/platform/logging"
	"orderflow/internal/platform/web"
)

// The details of the problem responses. They are fixed texts: a response never repeats the token or says
// which check failed, which would tell a forger how far they got; the log has the reason.
const (
	DetailMissing     = "a bearer token is required (Authorization: Bearer <token>)"
	DetailInvalid     = "the bearer token is not valid: it is malformed, expired, or not issued for this API"
	DetailUnavailable = "authentication is temporarily unavailable; retry later"
	detailForbidden   = "this operation requires the %q role"
)

// WWW-Authenticate challenges (RFC 6750 §3): no error code when the request had no bearer token at all, as
// §3.1 asks; invalid_token for a token that fails; insufficient_scope for an authenticated caller who lacks
// the role.
const (
	challengeMissing   = `Bearer`
	challengeInvalid   = `Bearer error="invalid_token"`
	challengeForbidden = `Bearer error="insufficient_scope"`
)

// Require authenticates every request with its bearer token: the principal goes into the request's context
// (see FromContext and FromGin); a request without a valid token is answered 401, and 503 while the issuer's
// discovery document cannot be fetched.
func (v *Verifier) Require() gin.HandlerFunc {
	return func(c *gin.Context) {
		raw, ok := bearerToken(c.GetHeader("Authorization"))
		if !ok {
			c.Header("WWW-Authenticate", challengeMissing)
			web.WriteProblem(c, http.StatusUnauthorized, DetailMissing)
			return
		}
		p, err := v.Verify(c.Request.Context(), raw)
		if errors.Is(err, ErrUnavailable) {
			logging.From(c.Request.Context()).WithError(err).Error("cannot check bearer tokens")
			web.WriteProblem(c, http.StatusServiceUnavailable, DetailUnavailable)
			return
		}
		if err != nil {
			logging.From(c.Request.Context()).WithError(err).Info("bearer token rejected")
			c.Header("WWW-Authenticate", challengeInvalid)
			web.WriteProblem(c, http.StatusUnauthorized, DetailInvalid)
			return
		}
		c.Request = c.Request.WithContext(NewContext(c.Request.Context(), p))
		c.Next()
	}
}

// RequireRole answers 403 unless the principal Require authenticated has role. Without Require before it,
// there is no principal and it answers 401: a route wired in the wrong order stays closed.
func RequireRole(role string) gin.HandlerFunc {
	return func(c *gin.Context) {
		p, ok := FromContext(c.Request.Context())
		if !ok {
			logging.From(c.Request.Context()).Error("RequireRole used without Require before it")
			c.Header("WWW-Authenticate", challengeMissing)
			web.WriteProblem(c, http.StatusUnauthorized, DetailMissing)
			return
		}
		if !p.HasRole(role) {
			logging.From(c.Request.Context()).WithFields(logrus.Fields{"subject": p.Subject, "role": role}).Info("role missing")
			c.Header("WWW-Authenticate", challengeForbidden)
			web.WriteProblem(c, http.StatusForbidden, fmt.Sprintf(detailForbidden, role))
			return
		}
		c.Next()
	}
}

// bearerToken extracts the token of an "Authorization: Bearer <token>" header; the scheme is case-insensitive
// (RFC 9110 §11.1).
func bearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

type principalKey struct{}

// NewContext returns a context carrying p, as Require leaves it for the handlers (and as tests of code that
// reads it build one).
func NewContext(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the principal Require authenticated, from the request's context: the domain gets that
// context, so it never needs gin.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// FromGin is FromContext for a gin handler.
func FromGin(c *gin.Context) (Principal, bool) { return FromContext(c.Request.Context()) }
