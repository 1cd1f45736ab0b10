// Package subscriber receives what the sidecar pushes to an app — pub/sub deliveries for the declarative
// Subscriptions in components/, and input-binding triggers — and turns a handler's error into the answer
// Dapr acts on:
//
//	nil                         → SUCCESS: acknowledged
//	apperr.Invalid              → DROP: the event can never be processed; Dapr moves it to the dead-letter topic
//	anything else               → RETRY: transient; Dapr redelivers under the Resiliency policy
//
// Handlers must be idempotent: delivery is at least once.
package subscriber

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/sirupsen/logrus"

	"orderflow/internal/apperr"
	"orderflow/internal/events"
	"orderflow/internal/platform/logging"
	"orderflow/internal/platform/tracing"
	"orderflow/internal/platform/web"
)

// Dapr's pub/sub verdicts.
const (
	StatusSuccess = "SUCCESS"
	StatusRetry   = "RETRY"
	StatusDrop    = "DROP"
)

// RoutePrefix is where event routes live; components/subscriptions point at RoutePrefix + topic.
const RoutePrefix = "/events/"

// Delivery is one CloudEvent as delivered by the sidecar.
type Delivery struct {
	Envelope events.Envelope
	Kind     events.Kind
}

// Payload is an event's data type; Validate rejects data that parses but cannot be acted on.
type Payload interface{ Validate() error }

// Decode parses and validates the delivery's data strictly; errors are Invalid, so the event is dropped.
func Decode[T Payload](d Delivery) (T, error) {
	var v T
	if err := web.DecodeStrict(d.Envelope.Data, &v); err != nil {
		return v, err
	}
	if err := v.Validate(); err != nil {
		return v, err
	}
	return v, nil
}

// Handler processes one delivery.
type Handler func(ctx context.Context, d Delivery) error

// Typed adapts a domain handler to a Handler: it decodes and validates the payload, then calls fn with the
// event id, which is the deduplication key.
func Typed[T Payload](fn func(ctx context.Context, eventID string, data T) error) Handler {
	return func(ctx context.Context, d Delivery) error {
		data, err := Decode[T](d)
		if err != nil {
			return err
		}
		return fn(ctx, d.Envelope.ID, data)
	}
}

// Router registers event and binding routes on a gin engine, behind the app API token.
type Router struct {
	group       *gin.RouterGroup
	topicPrefix string
	topics      []string
	started     atomic.Bool
}

// NewRouter returns a Router. appToken is APP_API_TOKEN (empty disables the check); topicPrefix is the
// deployment's TOPIC_PREFIX, prepended to the topics reported by Topics.
//
// It also answers the two calls daprd makes once the app is reachable, right before it starts consuming:
// GET /dapr/config and GET /dapr/subscribe (orderflow declares its subscriptions in YAML, so the list is
// empty). The second call is the app's evidence that its sidecar has started its subscriptions.
func NewRouter(e *gin.Engine, appToken, topicPrefix string) *Router {
	r := &Router{group: e.Group("/", web.RequireAppToken(appToken)), topicPrefix: topicPrefix}
	r.group.GET("/dapr/config", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{}) })
	r.group.GET("/dapr/subscribe", func(c *gin.Context) {
		r.started.Store(true)
		c.JSON(http.StatusOK, []any{})
	})
	// A subscription whose route the app does not serve would otherwise get 404, which Dapr treats as a
	// silent drop; DROP sends the event to the dead-letter topic instead, where it can be replayed.
	e.NoRoute(web.RequireAppToken(appToken), func(c *gin.Context) {
		if c.Request.Method == http.MethodPost && strings.HasPrefix(c.Request.URL.Path, RoutePrefix) {
			logging.From(c.Request.Context()).WithField("path", c.Request.URL.Path).
				Error("delivery to a route this app does not serve; check components/*/subscriptions; dropping to dead letter")
			c.JSON(http.StatusOK, gin.H{"status": StatusDrop})
			return
		}
		web.Error(c, apperr.New(apperr.NotFound, "no route for %s %s", c.Request.Method, c.Request.URL.Path))
	})
	return r
}

// SubscriptionsStarted reports whether the sidecar has asked for the app's subscriptions, which it does
// right before it starts consuming them.
func (r *Router) SubscriptionsStarted() bool { return r.started.Load() }

// SidecarAlreadyRunning records that the sidecar finished starting before this process listened. daprd asks
// for subscriptions once per lifetime, so an app restarted next to a running sidecar (a crash, a container
// restart in a pod) is never asked again; its subscriptions were started for the previous process and resume
// with the next successful health probe.
func (r *Router) SidecarAlreadyRunning() { r.started.Store(true) }

// Topics lists the prefixed topics this app handles, for the readiness check.
func (r *Router) Topics() []string { return append([]string(nil), r.topics...) }

// On routes deliveries of kind k to h at RoutePrefix + k.Topic. A subscription may use Dapr's bulk
// subscribe (bulkSubscribe in components/shared/subscriptions.yaml): the route then receives batches, whose
// entries are handled concurrently and answered one verdict each.
func (r *Router) On(k events.Kind, h Handler) {
	r.topics = append(r.topics, r.topicPrefix+k.Topic)
	r.group.POST(RoutePrefix+k.Topic, func(c *gin.Context) {
		c.Set(web.SkipAccessLog, true)
		body, err := io.ReadAll(io.LimitReader(c.Request.Body, bulkMaxBytes))
		if err != nil {
			logging.From(c.Request.Context()).WithError(err).Warn("reading delivery failed; asking for redelivery")
			c.JSON(http.StatusOK, gin.H{"status": StatusRetry})
			return
		}
		if isBulk(c.ContentType(), body) {
			c.JSON(http.StatusOK, r.deliverBulk(c.Request.Context(), k, h, body))
			return
		}
		c.JSON(http.StatusOK, gin.H{"status": r.deliver(c.Request.Context(), k, h, body)})
	})
}

// bulkMaxBytes bounds a batch: Dapr sends at most maxMessagesCount events of a few KiB each.
const bulkMaxBytes = 16 << 20

type bulkRequest struct {
	Entries []struct {
		EntryID string          `json:"entryId"`
		Event   json.RawMessage `json:"event"`
	} `json:"entries"`
}

type bulkStatus struct {
	EntryID string `json:"entryId"`
	Status  string `json:"status"`
}

// isBulk tells a batch (plain JSON with entries) from a single CloudEvent (application/cloudevents+json).
func isBulk(contentType string, body []byte) bool {
	return contentType == "application/json" && bytes.Contains(body, []byte(`"entries"`))
}

func (r *Router) deliverBulk(ctx context.Context, k events.Kind, h Handler, body []byte) gin.H {
	var req bulkRequest
	if err := json.Unmarshal(body, &req); err != nil {
		logging.From(ctx).WithError(err).Warn("bulk delivery is not readable; asking for redelivery")
		return gin.H{"statuses": []bulkStatus{}}
	}
	statuses := make([]bulkStatus, len(req.Entries))
	var wg sync.WaitGroup
	for i, e := range req.Entries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = bulkStatus{EntryID: e.EntryID, Status: r.deliver(ctx, k, h, e.Event)}
		}()
	}
	wg.Wait()
	return gin.H{"statuses": statuses}
}

// deliver handles one CloudEvent and returns Dapr's verdict.
func (r *Router) deliver(reqCtx context.Context, k events.Kind, h Handler, body []byte) string {
	start := time.Now()
	log := logging.From(reqCtx).WithField("topic", k.Topic)
	var env events.Envelope
	if err := json.Unmarshal(body, &env); err != nil {
		log.WithError(err).Warn("delivery is not a CloudEvent; dropping to dead letter")
		return StatusDrop
	}
	tp := tracing.FromHeader(env.TraceParent)
	if _, ok := tracing.Parse(env.TraceParent); !ok {
		tp = tracing.From(reqCtx)
	}
	log = log.WithFields(logrus.Fields{
		logging.FieldEventID:   env.ID,
		logging.FieldEventType: env.Type,
		logging.FieldTraceID:   tp.TraceID,
		logging.FieldOrderID:   env.Subject,
	})
	ctx := tracing.Into(logging.Into(reqCtx, log), tp)
	if env.Type != k.Type {
		log.Warnf("unexpected event type on topic %s (want %s); dropping to dead letter", k.Topic, k.Type)
		return StatusDrop
	}
	if env.ID == "" {
		log.Warn("event has no id; dropping to dead letter")
		return StatusDrop
	}

	err := h(ctx, Delivery{Envelope: env, Kind: k})
	elapsed := logrus.Fields{"duration_ms": float64(time.Since(start).Microseconds()) / 1000}
	switch code := apperr.CodeOf(err); {
	case err == nil:
		log.WithFields(elapsed).Info("event handled")
		return StatusSuccess
	case code == apperr.Invalid:
		log.WithFields(elapsed).WithError(err).Warn("event cannot be processed; dropping to dead letter")
		return StatusDrop
	default:
		log.WithFields(elapsed).WithError(err).Warn("event handling failed; asking for redelivery")
		return StatusRetry
	}
}

// OnRaw routes deliveries on topic to h at RoutePrefix + topic, undecoded: for a consumer that must keep every
// body as it came, even one that is no catalog event (apps/deadletters). h answers the sidecar itself.
func (r *Router) OnRaw(topic string, h gin.HandlerFunc) {
	r.topics = append(r.topics, r.topicPrefix+topic)
	r.group.POST(RoutePrefix+topic, h)
}

// OnBinding routes an input binding (such as a cron schedule) named name to h. A non-nil error answers 500,
// which Dapr logs; cron simply fires again on its next tick.
func (r *Router) OnBinding(name string, h func(ctx context.Context) error) {
	r.group.POST("/"+name, func(c *gin.Context) {
		c.Set(web.SkipAccessLog, true)
		ctx := logging.With(c.Request.Context(), logrus.Fields{"binding": name})
		if err := h(ctx); err != nil {
			logging.From(ctx).WithError(err).Error("binding trigger failed")
			web.Error(c, err)
			return
		}
		c.Status(http.StatusOK)
	})
	r.group.OPTIONS("/"+name, func(c *gin.Context) { c.Status(http.StatusOK) })
}
