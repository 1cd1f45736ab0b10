// Package api is the deadletters service's transport: the operators' API over the kept dead letters, and the
// routes the sidecar delivers every app's dead-letter topic to.
package api

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/sirupsen/logrus"

	"orderflow/apps/deadletters/deadletter"
	"orderflow/internal/platform/auth"
	"orderflow/internal/platform/logging"
	"orderflow/internal/platform/subscriber"
	"orderflow/internal/platform/web"
)

// defaultPage is a listing's size when the client names none.
const defaultPage = 50

// maxDeliveryBytes bounds a delivery's body; daprd itself refuses bodies above its 4 MiB default.
const maxDeliveryBytes = 16 << 20

// Register mounts the operators' routes on e and the delivery routes of every dead-letter topic on events.
func Register(e *gin.Engine, events *subscriber.Router, svc *deadletter.Service, authenticate gin.HandlerFunc) {
	h := handlers{svc: svc}
	// Dead letters hold whole events, customers' data included, and replaying one re-drives a saga: every
	// operation is for operators.
	ops := e.Group("/v1/deadletters", authenticate, auth.RequireRole("admin"))
	ops.GET("", h.list)
	ops.GET("/:id", h.get)
	ops.POST("/:id/replay", h.replay)
	ops.POST("/:id/discard", h.discard)

	// OnRaw, not On: On decodes a catalog event and drops what it cannot read, while here every body is kept
	// as it came and nothing is ever dropped — a dead letter of this service would go nowhere.
	for _, consumer := range deadletter.Consumers {
		events.OnRaw(deadletter.Topic(consumer), h.receive(consumer))
	}
}

type handlers struct{ svc *deadletter.Service }

// DeadLetterView is a kept dead letter as the API shows it: the DeadLetter schema of docs/openapi.yaml. It is a
// type of its own so that a field added to the stored record is not published by accident.
type DeadLetterView struct {
	ID              string            `json:"id"`
	Status          deadletter.Status `json:"status"`
	Consumer        string            `json:"consumer"`
	DeadLetterTopic string            `json:"deadLetterTopic"`
	Topic           string            `json:"topic,omitempty"`
	EventID         string            `json:"eventId"`
	EventType       string            `json:"eventType,omitempty"`
	Source          string            `json:"source,omitempty"`
	Subject         string            `json:"subject,omitempty"`
	TraceParent     string            `json:"traceparent,omitempty"`
	Event           json.RawMessage   `json:"event,omitempty"`
	Raw             []byte            `json:"raw,omitempty"`
	ParseError      string            `json:"parseError,omitempty"`
	ArrivedAt       time.Time         `json:"arrivedAt"`
	LastArrivedAt   time.Time         `json:"lastArrivedAt"`
	Arrivals        int               `json:"arrivals"`
	Replays         int               `json:"replays,omitempty"`
	ReplayedAt      *time.Time        `json:"replayedAt,omitempty"`
	DiscardedAt     *time.Time        `json:"discardedAt,omitempty"`
}

// PageView is one page of a listing; Next continues it.
type PageView struct {
	DeadLetters []DeadLetterView `json:"deadLetters"`
	Next        string           `json:"next,omitempty"`
}

func view(d deadletter.DeadLetter) DeadLetterView {
	return DeadLetterView{
		ID: d.ID, Status: d.Status, Consumer: d.Consumer, DeadLetterTopic: d.DeadLetterTopic, Topic: d.Topic,
		EventID: d.EventID, EventType: d.EventType, Source: d.Source, Subject: d.Subject, TraceParent: d.TraceParent,
		Event: d.Event, Raw: d.Raw, ParseError: d.ParseError, ArrivedAt: d.ArrivedAt, LastArrivedAt: d.LastArrivedAt,
		Arrivals: d.Arrivals, Replays: d.Replays, ReplayedAt: d.ReplayedAt, DiscardedAt: d.DiscardedAt,
	}
}

func pageView(p deadletter.Page) PageView {
	v := PageView{DeadLetters: make([]DeadLetterView, len(p.DeadLetters)), Next: p.Next}
	for i, d := range p.DeadLetters {
		v.DeadLetters[i] = view(d)
	}
	return v
}

// receive answers SUCCESS once the dead letter is kept, and RETRY when the store failed: never DROP.
func (h handlers) receive(consumer string) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Set(web.SkipAccessLog, true)
		log := logging.From(c.Request.Context()).WithField("consumer", consumer)
		body, err := io.ReadAll(io.LimitReader(c.Request.Body, maxDeliveryBytes))
		if err != nil {
			log.WithError(err).Warn("reading dead letter failed; asking for redelivery")
			c.JSON(http.StatusOK, gin.H{"status": subscriber.StatusRetry})
			return
		}
		d, err := h.svc.Receive(c.Request.Context(), consumer, body)
		if err != nil {
			log.WithError(err).Warn("keeping dead letter failed; asking for redelivery")
			c.JSON(http.StatusOK, gin.H{"status": subscriber.StatusRetry})
			return
		}
		log = log.WithFields(logrus.Fields{
			"dead_letter_id": d.ID, "status": d.Status, "topic": d.Topic,
			logging.FieldEventID: d.EventID, logging.FieldEventType: d.EventType, logging.FieldOrderID: d.Subject,
		})
		if d.ParseError != "" {
			log = log.WithField("parse_error", d.ParseError)
		}
		log.Warn("dead letter kept")
		c.JSON(http.StatusOK, gin.H{"status": subscriber.StatusSuccess})
	}
}

func (h handlers) list(c *gin.Context) {
	var status deadletter.Status
	if raw := c.Query("status"); raw != "" {
		st, err := deadletter.ParseStatus(raw)
		if err != nil {
			web.Error(c, err)
			return
		}
		status = st
	}
	limit := defaultPage
	if raw := c.Query("limit"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil {
			n = -1 // reported by List, which names the field and the range
		}
		limit = n
	}
	page, err := h.svc.List(c.Request.Context(), status, limit, c.Query("cursor"))
	if err != nil {
		web.Error(c, err)
		return
	}
	c.JSON(http.StatusOK, pageView(page))
}

func (h handlers) get(c *gin.Context) {
	d, err := h.svc.Get(c.Request.Context(), c.Param("id"))
	if err != nil {
		web.Error(c, err)
		return
	}
	c.JSON(http.StatusOK, view(d))
}

func (h handlers) replay(c *gin.Context) {
	d, err := h.svc.Replay(c.Request.Context(), c.Param("id"))
	if err != nil {
		web.Error(c, err)
		return
	}
	c.JSON(http.StatusOK, view(d))
}

func (h handlers) discard(c *gin.Context) {
	d, err := h.svc.Discard(c.Request.Context(), c.Param("id"))
	if err != nil {
		web.Error(c, err)
		return
	}
	c.JSON(http.StatusOK, view(d))
}
