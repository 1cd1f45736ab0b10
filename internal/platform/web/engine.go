package web

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/sirupsen/logrus"

	"orderflow/internal/apperr"
	"orderflow/internal/platform/logging"
	"orderflow/internal/platform/tracing"
)

const (
	requestIDKey = "request_id"
	// HeaderRequestID carries a caller-chosen request id, echoed on the response.
	HeaderRequestID = "X-Request-ID"
	// HeaderTraceParent is the W3C trace context header.
	HeaderTraceParent = "traceparent"
	// HeaderDaprAPIToken is the header daprd sends to the app when APP_API_TOKEN is configured.
	HeaderDaprAPIToken = "dapr-api-token"
)

func init() {
	gin.SetMode(gin.ReleaseMode)
}

// NewEngine returns a gin engine with orderflow's middleware: request context, panic recovery into a problem
// response, and an access log (health probes only at debug level, so they do not drown real traffic).
func NewEngine(log *logrus.Entry) *gin.Engine {
	e := gin.New()
	e.HandleMethodNotAllowed = true
	e.ContextWithFallback = true
	e.Use(requestContext(log), recovery(), accessLog())
	e.NoRoute(func(c *gin.Context) {
		Error(c, apperr.New(apperr.NotFound, "no route for %s %s", c.Request.Method, c.Request.URL.Path))
	})
	e.NoMethod(func(c *gin.Context) {
		WriteProblem(c, http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed on %s", c.Request.Method, c.Request.URL.Path))
	})
	return e
}

func requestContext(log *logrus.Entry) gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.GetHeader(HeaderRequestID)
		if id == "" || len(id) > 128 {
			id = uuid.NewString()
		}
		tp := tracing.FromHeader(c.GetHeader(HeaderTraceParent))
		c.Set(requestIDKey, id)
		c.Header(HeaderRequestID, id)
		entry := log.WithFields(logrus.Fields{logging.FieldRequestID: id, logging.FieldTraceID: tp.TraceID})
		ctx := tracing.Into(logging.Into(c.Request.Context(), entry), tp)
		c.Request = c.Request.WithContext(ctx)
		c.Next()
	}
}

func recovery() gin.HandlerFunc {
	return gin.CustomRecoveryWithWriter(nil, func(c *gin.Context, recovered any) {
		logging.From(c.Request.Context()).WithField("panic", recovered).Error("handler panicked")
		Error(c, apperr.New(apperr.Internal, "panic"))
	})
}

func accessLog() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		if c.GetBool(SkipAccessLog) {
			return
		}
		entry := logging.From(c.Request.Context()).WithFields(logrus.Fields{
			"method":      c.Request.Method,
			"path":        c.Request.URL.Path,
			"status":      c.Writer.Status(),
			"duration_ms": float64(time.Since(start).Microseconds()) / 1000,
		})
		if isProbe(c.Request.URL.Path) {
			entry.Debug("request")
			return
		}
		entry.Info("request")
	}
}

// SkipAccessLog, set on a gin context, leaves the request out of the access log because its handler logs a
// richer line itself (event deliveries).
const SkipAccessLog = "skip_access_log"

func isProbe(path string) bool {
	return path == "/healthz" || path == "/readyz" || strings.HasPrefix(path, "/dapr/")
}

// RequireAppToken guards routes only daprd may call (subscriptions, input bindings): when token is set,
// requests must carry it in the dapr-api-token header, as daprd does when started with APP_API_TOKEN.
func RequireAppToken(token string) gin.HandlerFunc {
	return func(c *gin.Context) {
		if token == "" {
			c.Next()
			return
		}
		got := c.GetHeader(HeaderDaprAPIToken)
		if subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
			WriteProblem(c, http.StatusUnauthorized, "missing or wrong dapr-api-token")
			return
		}
		c.Next()
	}
}

// Location builds an absolute-path Location header value from path segments.
func Location(segments ...string) string { return "/" + strings.Join(segments, "/") }
