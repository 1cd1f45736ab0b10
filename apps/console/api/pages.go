package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"orderflow/apps/console/board"
	"orderflow/apps/console/services"
	"orderflow/internal/apperr"
	"orderflow/internal/events"
)

// idPattern is what an order or dead letter id in a URL may look like (orders' own rule for order ids); any
// other path is not found without asking anyone.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

type statusCount struct {
	Status board.Status
	N      int
}

type summaryView struct {
	Statuses   []statusCount
	Throughput board.Throughput
	Shipped    int
	Failed     int
}

func summary(s board.Snapshot) summaryView {
	v := summaryView{Throughput: s.Throughput, Shipped: s.Throughput.Outcomes[board.Shipped]}
	for _, st := range board.Statuses {
		v.Statuses = append(v.Statuses, statusCount{st, s.Counts[st]})
		if st.Terminal() && st != board.Shipped {
			v.Failed += s.Throughput.Outcomes[st]
		}
	}
	return v
}

func (h *handlers) board(c *gin.Context) {
	sess := sessionOf(c)
	snap := h.Board.Board(filterOf(sess))
	placed := c.Query("placed")
	if !idPattern.MatchString(placed) {
		placed = ""
	}
	h.render(c, http.StatusOK, "board", page{Title: "Board", Nav: "board", Live: "/live/board", Data: map[string]any{
		"Orders": snap.Orders, "Summary": summary(snap), "Size": h.Board.Size(), "Placed": placed,
	}})
}

// card is one of the simulated provider's card tokens and what it does (README).
type card struct{ Token, Outcome string }

var cards = []card{
	{"tok_visa", "approved: the order ships"},
	{"tok_declined", "declined: PAYMENT_FAILED, the stock goes back"},
	{"tok_insufficient_funds", "insufficient funds: PAYMENT_FAILED"},
	{"tok_timeout", "never answers: retried, then the provider confirms no charge: PAYMENT_FAILED after a few seconds"},
	{"tok_unavailable_once", "fails once, then recovers: ships"},
	{"tok_slow_approve", "approves after the 1 s timeout: payments finds the charge, ships"},
	{"tok_approve_drop", "charges, then drops the connection: ships, charged once"},
	{"tok_rate_limited", "429 once: retried, ships"},
}

type placeView struct {
	Key, Email, Field, OtherSKU, OtherQty, Card, CatalogNote string
	Products                                                 []services.Product
	Quantities                                               map[string]string
	Cards                                                    []card
}

func newKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (h *handlers) placeForm(c *gin.Context) {
	v := placeView{Key: newKey(), Card: cards[0].Token, Quantities: map[string]string{}}
	h.renderPlace(c, http.StatusOK, v, "")
}

func (h *handlers) renderPlace(c *gin.Context, status int, v placeView, problem string) {
	products, err := h.Services.Products(c.Request.Context())
	if err != nil {
		v.CatalogNote = "The catalog could not be read (" + err.Error() + "); you can still order a SKU by name below."
	}
	sort.Slice(products, func(i, j int) bool { return products[i].SKU < products[j].SKU })
	v.Products, v.Cards = products, cards
	for _, p := range products {
		if v.Quantities[p.SKU] == "" {
			v.Quantities[p.SKU] = "0"
		}
	}
	if v.OtherQty == "" {
		v.OtherQty = "0"
	}
	h.render(c, status, "place", page{Title: "Place an order", Nav: "place", Error: problem, Data: v})
}

// place sends the form to orders as the signed-in customer. The form carries an Idempotency-Key chosen when
// it was shown, so sending it twice (a double click, a retry after an error) places one order.
func (h *handlers) place(c *gin.Context) {
	sess := sessionOf(c)
	v := placeView{Key: c.PostForm("idempotency_key"), Email: strings.TrimSpace(c.PostForm("email")), Card: c.PostForm("card"),
		OtherSKU: strings.TrimSpace(c.PostForm("other_sku")), OtherQty: c.PostForm("other_qty"), Quantities: map[string]string{}}
	if len(v.Key) != 32 || strings.Trim(v.Key, "0123456789abcdef") != "" {
		v.Key = newKey()
	}
	var items []events.Item
	var bad []string
	for name, vals := range c.Request.PostForm {
		sku, ok := strings.CutPrefix(name, "qty-")
		if !ok || len(vals) != 1 {
			continue
		}
		v.Quantities[sku] = vals[0]
		n, err := quantity(vals[0])
		if err != nil {
			bad = append(bad, sku)
			continue
		}
		if n > 0 {
			items = append(items, events.Item{SKU: sku, Quantity: n})
		}
	}
	if n, err := quantity(v.OtherQty); err != nil {
		bad = append(bad, "another SKU")
	} else if n > 0 && v.OtherSKU != "" {
		items = append(items, events.Item{SKU: v.OtherSKU, Quantity: n})
	}
	slices.SortFunc(items, func(a, b events.Item) int { return strings.Compare(a.SKU, b.SKU) })
	switch {
	case len(bad) > 0:
		sort.Strings(bad)
		h.renderPlace(c, http.StatusBadRequest, v, "Quantities must be whole numbers from 0 to 1000: "+strings.Join(bad, ", "))
		return
	case len(items) == 0:
		h.renderPlace(c, http.StatusBadRequest, v, "Choose at least one item: a quantity above 0.")
		return
	}
	o, err := h.Services.PlaceOrder(c.Request.Context(), sess.Token, v.Key, services.PlaceRequest{
		Email: v.Email, Items: items, Payment: events.PaymentMethod{CardToken: v.Card}})
	if err != nil {
		if p, ok := services.AsProblem(err); ok && p.Status < 500 {
			v.Field = p.Field
			msg := p.Detail
			if p.Field != "" {
				msg = p.Field + ": " + p.Detail
			}
			h.renderPlace(c, p.Status, v, "orders refused the order: "+msg)
			return
		}
		// Nothing was announced, or it was and sending the form again (same key) finds that order.
		h.renderPlace(c, http.StatusServiceUnavailable, v, "orders could not take the order right now ("+err.Error()+
			"). Send the form again: it carries the same Idempotency-Key, so the order is placed once.")
		return
	}
	c.Redirect(http.StatusSeeOther, "/?placed="+url.QueryEscape(o.ID))
}

func quantity(raw string) (int, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 0 || n > 1000 {
		return 0, fmt.Errorf("not a quantity: %q", raw)
	}
	return n, nil
}

type orderView struct {
	ID                                              string
	Record                                          *board.Order
	Orders                                          *services.Order
	Payment                                         *services.Payment
	Shipment                                        *services.Shipment
	Mail                                            *services.Mail
	OrdersNote, PaymentNote, ShipmentNote, MailNote string
	TraceLink                                       string
	Cancellable                                     bool
}

// order shows one order. Who may see it: its customer — orders answers them with the order (orders decides),
// or the console's record names them — and operators. Anyone else gets the same 404 as for an id that does
// not exist, as on orders' API. payments, shipping and notifications take no token (docs/auth.md), so the
// console asks them only once that is settled.
func (h *handlers) order(c *gin.Context) {
	ctx := c.Request.Context()
	sess := sessionOf(c)
	id := c.Param("id")
	notFound := apperr.New(apperr.NotFound, "no order %s", id)
	if !idPattern.MatchString(id) {
		h.fail(c, notFound)
		return
	}
	rec, found, err := h.Board.Order(ctx, id)
	if err != nil {
		h.fail(c, err)
		return
	}
	v := orderView{ID: id}
	if found {
		v.Record, v.TraceLink = &rec, h.traceLink(rec.TraceID)
	}
	ordered, oerr := h.Services.Order(ctx, sess.Token, id)
	if oerr == nil {
		v.Orders = &ordered
	}
	owner := oerr == nil || (found && rec.CustomerID == sess.Subject)
	switch {
	case !owner && !sess.Admin():
		if oerr != nil && !isClientError(oerr) {
			h.fail(c, oerr)
			return
		}
		h.fail(c, notFound)
		return
	case !found && oerr != nil:
		if isClientError(oerr) {
			oerr = notFound
		}
		h.fail(c, oerr)
		return
	case oerr != nil && isClientError(oerr):
		v.OrdersNote = "orders shows an order to its customer only."
	case oerr != nil:
		v.OrdersNote = "orders could not be asked: " + oerr.Error()
	}
	v.Cancellable = v.Orders != nil && !board.Status(v.Orders.Status).Terminal()

	var wg sync.WaitGroup
	wg.Go(func() {
		p, err := h.Services.Payment(ctx, id)
		v.Payment, v.PaymentNote = keep(p, err, "payments")
	})
	wg.Go(func() {
		s, err := h.Services.Shipment(ctx, id)
		v.Shipment, v.ShipmentNote = keep(s, err, "shipping")
	})
	wg.Go(func() {
		m, err := h.Services.Mail(ctx, id)
		v.Mail, v.MailNote = keep(m, err, "notifications")
	})
	wg.Wait()
	flash := ""
	if c.Query("cancel") == "requested" {
		flash = "Cancellation requested: shipping decides whether the order can still be stopped."
	}
	h.render(c, http.StatusOK, "order", page{Title: "Order " + id, Nav: "board", Flash: flash,
		Live: "/live/board?order=" + url.QueryEscape(id), Data: v})
}

// keep returns what a service answered, or a note saying why there is nothing.
func keep[T any](v T, err error, app string) (*T, string) {
	if err == nil {
		return &v, ""
	}
	if p, ok := services.AsProblem(err); ok && p.Status == http.StatusNotFound {
		return nil, app + " has no record of this order (yet)."
	}
	return nil, app + " could not be asked: " + err.Error()
}

func (h *handlers) cancel(c *gin.Context) {
	id := c.Param("id")
	if !idPattern.MatchString(id) {
		h.fail(c, apperr.New(apperr.NotFound, "no order %s", id))
		return
	}
	if err := h.Services.CancelOrder(c.Request.Context(), sessionOf(c).Token, id); err != nil {
		h.fail(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/orders/"+url.PathEscape(id)+"?cancel=requested")
}

func (h *handlers) stockPage(c *gin.Context) {
	products, err := h.Services.Products(c.Request.Context())
	note := ""
	if err != nil {
		note = "inventory could not be asked: " + err.Error()
	}
	sort.Slice(products, func(i, j int) bool { return products[i].SKU < products[j].SKU })
	h.render(c, http.StatusOK, "stock", page{Title: "Stock", Nav: "stock", Live: "/live/stock", Data: map[string]any{"Products": products, "Note": note}})
}

func (h *handlers) healthPage(c *gin.Context) {
	apps, _ := h.readiness(c.Request.Context())
	h.render(c, http.StatusOK, "health", page{Title: "Health", Nav: "health", Live: "/live/health", Data: map[string]any{"Apps": apps}})
}

// readiness asks every app at once, each within a few seconds.
func (h *handlers) readiness(ctx context.Context) ([]services.Readiness, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	out := make([]services.Readiness, len(h.Health))
	var wg sync.WaitGroup
	for i, app := range h.Health {
		wg.Go(func() { out[i] = h.Services.Readiness(ctx, app) })
	}
	wg.Wait()
	return out, nil
}

var deadLetterStatuses = []string{"pending", "replayed", "discarded", "all"}

func (h *handlers) deadLetters(c *gin.Context) {
	ctx := c.Request.Context()
	token := sessionOf(c).Token
	status := c.DefaultQuery("status", "pending")
	if !slices.Contains(deadLetterStatuses, status) {
		status = "pending"
	}
	filter := status
	if status == "all" {
		filter = ""
	}
	cursor := c.Query("cursor")
	if len(cursor) > 512 {
		cursor = ""
	}
	data := map[string]any{"Statuses": deadLetterStatuses, "Status": status}
	var wg sync.WaitGroup
	wg.Go(func() {
		pageOf, err := h.Services.DeadLetters(ctx, token, filter, cursor)
		if err != nil {
			data["Note"] = "deadletters could not be asked: " + err.Error()
			return
		}
		data["DeadLetters"], data["Next"] = pageOf.DeadLetters, pageOf.Next
	})
	var overdue services.Overdue
	var overdueErr error
	wg.Go(func() { overdue, overdueErr = h.Services.Overdue(ctx, token) })
	wg.Wait()
	if overdueErr != nil {
		data["OverdueNote"] = "orders could not be asked: " + overdueErr.Error()
	} else {
		data["Overdue"] = overdue
	}
	h.render(c, http.StatusOK, "deadletters", page{Title: "Dead letters", Nav: "deadletters", Data: data})
}

func (h *handlers) deadLetter(c *gin.Context) {
	id := c.Param("id")
	if !idPattern.MatchString(id) {
		h.fail(c, apperr.New(apperr.NotFound, "no dead letter %s", id))
		return
	}
	d, err := h.Services.DeadLetter(c.Request.Context(), sessionOf(c).Token, id)
	if err != nil {
		h.fail(c, err)
		return
	}
	shown := string(d.Raw)
	var pretty bytes.Buffer
	if len(d.Event) > 0 && json.Indent(&pretty, d.Event, "", "  ") == nil {
		shown = pretty.String()
	}
	flash := map[string]string{
		services.Replay:  "Replayed: the event was published again to its original topic.",
		services.Discard: "Discarded: nothing was published.",
	}[c.Query("done")]
	h.render(c, http.StatusOK, "deadletter", page{Title: "Dead letter", Nav: "deadletters", Flash: flash,
		Data: map[string]any{"ID": id, "DeadLetter": d, "EventJSON": shown}})
}

func (h *handlers) actOnDeadLetter(c *gin.Context) {
	id, action := c.Param("id"), c.Param("action")
	if !idPattern.MatchString(id) || (action != services.Replay && action != services.Discard) {
		h.fail(c, apperr.New(apperr.NotFound, "no such action"))
		return
	}
	if _, err := h.Services.ActOnDeadLetter(c.Request.Context(), sessionOf(c).Token, id, action); err != nil {
		h.fail(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/deadletters/"+url.PathEscape(id)+"?done="+action)
}
