// Package api is the console's transport: the HTML pages (html/template, embedded), their live updates over
// server-sent events, the login routes, and the event routes the sidecar delivers the saga's topics to. It
// holds no business rules: the board is apps/console/board, the other services are reached through
// apps/console/services, and logging in is apps/console/login.
package api

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"orderflow/apps/console/board"
	"orderflow/apps/console/login"
	"orderflow/apps/console/services"
	"orderflow/internal/apperr"
	"orderflow/internal/events"
	"orderflow/internal/platform/logging"
	"orderflow/internal/platform/subscriber"
	"orderflow/internal/platform/tracing"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// Authenticator runs logins (login.Provider).
type Authenticator interface {
	Start(ctx context.Context, next string, now time.Time) (login.Pending, string, error)
	Finish(ctx context.Context, pending login.Pending, code string) (login.Identity, error)
}

// Deps is what the console's pages work with.
type Deps struct {
	Board    *board.Service
	Services *services.Client
	// Health lists the apps the health page asks, the console's own included.
	Health   []services.App
	Login    Authenticator
	Sessions *login.Sessions
	// TraceURL is the link to an order's trace, with {traceId} in it (TRACE_URL); empty hides the link.
	TraceURL string
	Now      func() time.Time
	// Done ends the live streams when the app shuts down, so they do not hold the graceful shutdown.
	Done <-chan struct{}
}

type handlers struct {
	Deps
	pages  map[string]*template.Template
	frags  *template.Template
	stock  *feed[[]services.Product]
	health *feed[[]services.Readiness]
}

// Register mounts the pages on e and the event routes on r, and starts the live feeds, which run until
// ctx ends.
func Register(ctx context.Context, e *gin.Engine, r *subscriber.Router, d Deps) error {
	h := &handlers{Deps: d}
	if err := h.parse(); err != nil {
		return err
	}
	h.stock = newFeed(5*time.Second, d.Board.StockChanges(), d.Services.Products)
	h.health = newFeed(5*time.Second, nil, h.readiness)
	go h.stock.run(ctx)
	go h.health.run(ctx)

	static, err := fs.Sub(staticFiles, "static")
	if err != nil {
		return err
	}
	assets := http.StripPrefix("/static/", http.FileServer(http.FS(static)))
	e.GET("/static/*file", func(c *gin.Context) {
		c.Header("Cache-Control", "public, max-age=300")
		assets.ServeHTTP(c.Writer, c.Request)
	})

	e.GET("/login", h.login)
	e.GET("/callback", h.callback)
	pages := e.Group("", securityHeaders, h.authenticate)
	pages.POST("/logout", h.csrf, h.logout)
	pages.GET("/", h.board)
	pages.GET("/orders/new", h.placeForm)
	pages.POST("/orders", h.csrf, h.place)
	pages.GET("/orders/:id", h.order)
	pages.POST("/orders/:id/cancel", h.csrf, h.cancel)
	pages.GET("/stock", h.stockPage)
	pages.GET("/health", h.healthPage)
	pages.GET("/live/board", h.liveBoard)
	pages.GET("/live/stock", h.liveStock)
	pages.GET("/live/health", h.liveHealth)
	admin := pages.Group("", h.requireAdmin)
	admin.GET("/deadletters", h.deadLetters)
	admin.GET("/deadletters/:id", h.deadLetter)
	admin.POST("/deadletters/:id/:action", h.csrf, h.actOnDeadLetter)

	for _, k := range events.All {
		r.On(k, h.apply(k))
	}
	return nil
}

// apply is the event route of kind k: the payload is decoded and checked as every consumer does (a malformed
// one is dropped), then recorded on the board.
func (h *handlers) apply(k events.Kind) subscriber.Handler {
	decode := payloadDecoder(k)
	return func(ctx context.Context, d subscriber.Delivery) error {
		data, err := decode(d)
		if err != nil {
			return err
		}
		traceID := ""
		if tp, ok := tracing.Parse(d.Envelope.TraceParent); ok {
			traceID = tp.TraceID
		}
		return h.Board.Apply(ctx, board.Event{ID: d.Envelope.ID, Kind: k, Source: d.Envelope.Source, Time: d.Envelope.Time,
			TraceID: traceID, Data: data})
	}
}

func decoder[T subscriber.Payload]() func(subscriber.Delivery) (any, error) {
	return func(d subscriber.Delivery) (any, error) { return subscriber.Decode[T](d) }
}

func payloadDecoder(k events.Kind) func(subscriber.Delivery) (any, error) {
	return map[events.Kind]func(subscriber.Delivery) (any, error){
		events.OrderPlaced:          decoder[events.OrderPlacedData](),
		events.OrderCancelRequested: decoder[events.OrderCancelRequestedData](),
		events.OrderCancelled:       decoder[events.OrderCancelledData](),
		events.StockReserved:        decoder[events.StockReservedData](),
		events.StockRejected:        decoder[events.StockRejectedData](),
		events.StockReleased:        decoder[events.StockReleasedData](),
		events.ReservationExpired:   decoder[events.ReservationExpiredData](),
		events.PaymentSucceeded:     decoder[events.PaymentSucceededData](),
		events.PaymentFailed:        decoder[events.PaymentFailedData](),
		events.PaymentRefunded:      decoder[events.PaymentRefundedData](),
		events.ShipmentDispatched:   decoder[events.ShipmentDispatchedData](),
		events.ShipmentCancelled:    decoder[events.ShipmentCancelledData](),
	}[k]
}

// page is what every page template gets: the layout's fields and the page's own Data.
type page struct {
	Title, Nav, Flash, Error string
	// Live is the page's server-sent events stream, if it updates live.
	Live    string
	Session *login.Session
	Data    any
}

var funcs = template.FuncMap{
	"money": func(cents any, currency string) string {
		switch c := cents.(type) {
		case *int64:
			return board.Money(*c, currency)
		case int64:
			return board.Money(c, currency)
		}
		return ""
	},
	"statusClass": func(s board.Status) string {
		switch {
		case s == board.Shipped:
			return "ok"
		case s.Terminal():
			return "bad"
		case s == board.Pending:
			return "wait"
		}
		return "go"
	},
	"short": func(id string) string {
		if len(id) > 13 {
			return id[:8] + "…" + id[len(id)-4:]
		}
		return id
	},
	"items": func(o board.Order) string {
		var parts []string
		for _, it := range o.Items {
			parts = append(parts, fmt.Sprintf("%s×%d", it.SKU, it.Quantity))
		}
		if len(parts) == 0 {
			for _, l := range o.Lines {
				parts = append(parts, fmt.Sprintf("%s×%d", l.SKU, l.Quantity))
			}
		}
		if len(parts) == 0 {
			return "—"
		}
		return strings.Join(parts, ", ")
	},
	"last": func(o board.Order) *board.Step {
		if len(o.Steps) == 0 {
			return nil
		}
		return &o.Steps[len(o.Steps)-1]
	},
	"millis":   func(t time.Time) int64 { return t.UnixMilli() },
	"iso":      func(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) },
	"clock":    func(t time.Time) string { return t.UTC().Format("15:04:05") },
	"clockMs":  func(t time.Time) string { return t.UTC().Format("15:04:05.000") },
	"dateTime": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
	"lag": func(from, to time.Time) string {
		d := to.Sub(from)
		if d < 0 {
			d = 0
		}
		return d.Round(time.Millisecond).String()
	},
}

func (h *handlers) parse() error {
	base, err := template.New("").Funcs(funcs).ParseFS(templateFiles, "templates/layout.html", "templates/fragments.html")
	if err != nil {
		return err
	}
	h.frags = base
	h.pages = map[string]*template.Template{}
	for _, name := range []string{"board", "order", "place", "stock", "health", "deadletters", "deadletter", "error"} {
		t, err := template.Must(base.Clone()).ParseFS(templateFiles, "templates/"+name+".html")
		if err != nil {
			return err
		}
		h.pages[name] = t
	}
	return nil
}

// render writes a page. Pages of a session are never cached: they show that person's data.
func (h *handlers) render(c *gin.Context, status int, name string, p page) {
	if p.Session == nil {
		p.Session = sessionOf(c)
	}
	var buf bytes.Buffer
	if err := h.pages[name].ExecuteTemplate(&buf, "layout", p); err != nil {
		logging.From(c.Request.Context()).WithError(err).WithField("page", name).Error("rendering a page failed")
		c.String(http.StatusInternalServerError, "the page could not be rendered")
		return
	}
	c.Header("Cache-Control", "no-store")
	c.Data(status, "text/html; charset=utf-8", buf.Bytes())
}

// fragment renders one of the fragments a live stream sends.
func (h *handlers) fragment(name string, data any) (string, error) {
	var buf bytes.Buffer
	if err := h.frags.ExecuteTemplate(&buf, name, data); err != nil {
		return "", err
	}
	return buf.String(), nil
}

// fail renders the error page for err: a service's refusal as it answered (404 stays 404), the console's
// own errors by their code, and anything else as a 500 whose cause is logged, not shown.
func (h *handlers) fail(c *gin.Context, err error) {
	status, heading, msg := http.StatusInternalServerError, "Something went wrong", "The console could not complete the request; retry, or look for its request id in the console's log."
	if p, ok := services.AsProblem(err); ok {
		status, heading, msg = statusOf(p.Code()), headingOf(p.Code()), p.Detail
		if p.Status >= 500 {
			status, msg = http.StatusBadGateway, p.App+" could not answer: "+p.Detail
		}
	} else if e, ok := apperr.As(err); ok {
		status, heading = statusOf(e.Code), headingOf(e.Code)
		if e.Code != apperr.Internal {
			msg = e.Message
		}
	}
	log := logging.From(c.Request.Context()).WithError(err)
	if status >= 500 {
		log.Error("page failed")
	} else {
		log.Debug("page refused")
	}
	h.render(c, status, "error", page{Title: heading, Data: map[string]string{"Heading": heading, "Message": msg}})
	c.Abort()
}

func statusOf(code apperr.Code) int {
	switch code {
	case apperr.Invalid:
		return http.StatusBadRequest
	case apperr.Forbidden:
		return http.StatusForbidden
	case apperr.NotFound:
		return http.StatusNotFound
	case apperr.Conflict:
		return http.StatusConflict
	case apperr.Unavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

func headingOf(code apperr.Code) string {
	switch code {
	case apperr.NotFound:
		return "Not found"
	case apperr.Forbidden:
		return "Not allowed"
	case apperr.Invalid, apperr.Conflict:
		return "That did not work"
	case apperr.Unavailable:
		return "Temporarily unavailable"
	}
	return "Something went wrong"
}

// securityHeaders are sent with every page: no framing, no script or style from elsewhere, no sniffing, and
// no order ids in the Referer of links to other sites (the trace link).
func securityHeaders(c *gin.Context) {
	c.Header("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	c.Header("X-Content-Type-Options", "nosniff")
	c.Header("X-Frame-Options", "DENY")
	c.Header("Referrer-Policy", "same-origin")
}

// traceLink is the order's trace URL, or "" when TRACE_URL is unset or the order carries no trace id.
func (h *handlers) traceLink(traceID string) string {
	if h.TraceURL == "" || traceID == "" {
		return ""
	}
	return strings.ReplaceAll(h.TraceURL, "{traceId}", traceID)
}

func isClientError(err error) bool {
	if p, ok := services.AsProblem(err); ok {
		return p.Status < 500
	}
	c := apperr.CodeOf(err)
	return c == apperr.Invalid || c == apperr.NotFound || c == apperr.Forbidden || c == apperr.Conflict
}

var errNotAdmin = apperr.New(apperr.Forbidden, "this page is for operators: sign in with the admin role")
