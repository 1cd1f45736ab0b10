package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"orderflow/internal/events/eventschema"
	"orderflow/tests/harness"
)

// chaosRecoveryTarget is the longest a killed service may take, from its restart to the next order it moves
// forward.
const chaosRecoveryTarget = 15 * time.Second

// chaosStallWindow is how long every consumer group must have had nothing outstanding before open orders are
// declared stuck rather than slow.
const chaosStallWindow = 10 * time.Second

// chaosOrderView is the part of an order the checks read.
type chaosOrderView struct {
	ID         string      `json:"id"`
	Status     string      `json:"status"`
	Items      []chaosItem `json:"items"`
	TotalCents *int64      `json:"totalCents"`
	RefundedAt *time.Time  `json:"refundedAt"`
	History    []struct {
		Status string    `json:"status"`
		At     time.Time `json:"at"`
	} `json:"history"`
}

// chaosState is everything the services and the provider say about one order once the system is quiet.
type chaosState struct {
	found       bool
	order       chaosOrderView
	payment     *struct{ Status string }
	charge      *chaosCharge
	reservation *struct{ Status string }
	sent        []string
	unsent      []string
}

type chaosCharge struct {
	Status      string `json:"status"`
	AmountCents int64  `json:"amountCents"`
	Attempts    int    `json:"attempts"`
}

func (s *chaosState) charged() bool { return s.charge != nil && s.charge.Status == "succeeded" }

func (s *chaosState) paymentStatus() string {
	if s.payment == nil {
		return ""
	}
	return s.payment.Status
}

// chaosEvent is one event the spy recorded.
type chaosEvent struct {
	harness.Envelope
	Time time.Time `json:"time"`
	at   time.Time
	raw  []byte
}

// chaosFinal is the quiet system's state.
type chaosFinal struct {
	states   map[string]*chaosState
	products map[string]product
	// events per topic (unprefixed), in arrival order; firstSeen is when each event id first arrived.
	events    map[string][]chaosEvent
	firstSeen map[string]time.Time
	placed    map[string]time.Time // order id → first order.placed arrival
	mail      map[string]int       // mail file → writes
	mailFirst map[string]time.Time
	mailLast  map[string]time.Time
	// senderKills are the times the notifications app or its sidecar was killed.
	senderKills []time.Time
	mailFiles   map[string]bool
	// mailReliable is false when the write counts may be incomplete (inotify's queue overflowed).
	mailReliable bool
	// kept is what the deadletters service kept ("<consumer>.deadletter/<event id>" → its status: pending,
	// replayed, discarded); nil when it does not run.
	kept map[string]string
	errs []string
}

// orderIDs is every order of the run: those the clients were told of and those the services announced.
func (r *chaosRun) orderIDs() []string {
	seen := map[string]bool{}
	for _, o := range r.orders {
		for _, id := range o.ids {
			seen[id] = true
		}
	}
	for _, raw := range r.sys.Spy.Received("order.placed") {
		var e harness.Envelope
		if json.Unmarshal(raw, &e) == nil && e.Subject != "" {
			seen[e.Subject] = true
		}
	}
	return slices.Sorted(maps.Keys(seen))
}

// awaitQuiet waits until every order is terminal and every delivery of every topic has been made and
// acknowledged (no consumer group of the private Redis has anything pending or unread), or until deadline.
// It describes what it found.
func (r *chaosRun) awaitQuiet(t *testing.T, ctx context.Context, deadline time.Time) string {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: r.redis.Addr})
	defer rdb.Close()
	ordersURL := r.sys.App(t, "orders").URL() // here, not in chaosParallel's goroutines: App may fail the test
	done := map[string]bool{}
	var drained time.Time // since when no delivery has been outstanding
	for {
		ids := r.orderIDs()
		var open []string
		var mu sync.Mutex
		chaosParallel(ids, func(id string) {
			if done[id] {
				return
			}
			var o chaosOrderView
			found, err := chaosGetJSON(ordersURL+"/v1/orders/"+id, r.ownerAuth(id), &o)
			mu.Lock()
			defer mu.Unlock()
			if err != nil || !found || !slices.Contains(terminal, o.Status) {
				open = append(open, id)
			}
		})
		for _, id := range ids {
			done[id] = !slices.Contains(open, id)
		}
		backlog, err := chaosBacklog(ctx, rdb, r.sys.TopicPrefix)
		if err != nil {
			backlog = append(backlog, err.Error())
		}
		switch {
		case len(backlog) > 0:
			drained = time.Time{}
		case drained.IsZero():
			drained = time.Now()
		}
		if len(open) == 0 && len(backlog) == 0 {
			return fmt.Sprintf("all %d orders terminal, every delivery acknowledged", len(ids))
		}
		// With nothing left to deliver, nothing can move the open orders any more (a delivery being retried
		// stays pending until it is acknowledged or dead-lettered): waiting longer would only wait.
		if !drained.IsZero() && time.Since(drained) > chaosStallWindow {
			return fmt.Sprintf("stalled: %d of %d orders not terminal, nothing left to deliver for %s", len(open), len(ids), chaosStallWindow)
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Sprintf("gave up waiting: %d of %d orders not terminal, %d consumer groups with deliveries outstanding",
				len(open), len(ids), len(backlog))
		}
		chaosSleepUntil(ctx, time.Now().Add(500*time.Millisecond))
	}
}

// chaosBacklog lists the consumer groups of the run's streams that still have deliveries pending (not
// acknowledged) or not yet made.
func chaosBacklog(ctx context.Context, rdb *redis.Client, prefix string) ([]string, error) {
	var out []string
	iter := rdb.Scan(ctx, 0, prefix+"*", 100).Iterator()
	for iter.Next(ctx) {
		stream := iter.Val()
		info, err := rdb.XInfoStream(ctx, stream).Result()
		if err != nil {
			return out, fmt.Errorf("XINFO STREAM %s: %w", stream, err)
		}
		groups, err := rdb.XInfoGroups(ctx, stream).Result()
		if err != nil {
			return out, fmt.Errorf("XINFO GROUPS %s: %w", stream, err)
		}
		for _, g := range groups {
			if g.Pending > 0 || g.LastDeliveredID != info.LastGeneratedID {
				out = append(out, fmt.Sprintf("%s/%s: %d pending, last delivered %s of %s",
					strings.TrimPrefix(stream, prefix), g.Name, g.Pending, g.LastDeliveredID, info.LastGeneratedID))
			}
		}
	}
	return out, iter.Err()
}

// chaosParallel runs f for every item on eight workers.
func chaosParallel(items []string, f func(string)) {
	work := make(chan string)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range work {
				f(it)
			}
		}()
	}
	for _, it := range items {
		work <- it
	}
	close(work)
	wg.Wait()
}

// collect reads the final state of every order from every service and the provider, the catalog, the
// spy's record and the mail folder.
func (r *chaosRun) collect(t *testing.T, ctx context.Context, mail *chaosMail) *chaosFinal {
	t.Helper()
	f := &chaosFinal{states: map[string]*chaosState{}, products: map[string]product{}, events: map[string][]chaosEvent{},
		firstSeen: map[string]time.Time{}, placed: map[string]time.Time{}, mailFiles: map[string]bool{}}
	var mu sync.Mutex
	fail := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		f.errs = append(f.errs, fmt.Sprintf(format, args...))
	}
	// The URLs are read here, not in chaosParallel's goroutines: App may fail the test.
	urls := map[string]string{}
	for _, app := range []string{"orders", "payments", "inventory", "notifications"} {
		urls[app] = r.sys.App(t, app).URL()
	}
	auth := map[string]string{"Authorization": "Bearer " + chaosProviderKey}
	chaosParallel(r.orderIDs(), func(id string) {
		s := &chaosState{}
		// Each read is retried a few times: the system is quiet, but a read can still meet a busy sidecar.
		get := func(what, u string, headers map[string]string, v any) bool {
			var err error
			for attempt := 0; attempt < 3 && ctx.Err() == nil; attempt++ {
				var found bool
				if found, err = chaosGetJSON(u, headers, v); err == nil {
					return found
				}
				chaosSleepUntil(ctx, time.Now().Add(200*time.Millisecond))
			}
			fail("%s of %s: %v", what, id, err)
			return false
		}
		s.found = get("order", urls["orders"]+"/v1/orders/"+id, r.ownerAuth(id), &s.order)
		var pay struct{ Status string }
		if get("payment", urls["payments"]+"/v1/payments/"+id, nil, &pay) {
			s.payment = &pay
		}
		var c chaosCharge
		if get("provider charge", r.sys.CardSimulator+"/v1/charges/"+id, auth, &c) {
			s.charge = &c
		}
		var res struct{ Status string }
		if get("reservation", urls["inventory"]+"/v1/reservations/"+id, r.admin, &res) {
			s.reservation = &res
		}
		var n struct {
			Notifications []struct{ Event string } `json:"notifications"`
			Unsent        []struct{ Event, State string }
		}
		get("notifications", urls["notifications"]+"/v1/notifications?orderId="+id, nil, &n)
		for _, m := range n.Notifications {
			s.sent = append(s.sent, m.Event)
		}
		for _, m := range n.Unsent {
			s.unsent = append(s.unsent, m.Event+" ("+m.State+")")
		}
		mu.Lock()
		f.states[id] = s
		mu.Unlock()
	})
	for _, p := range r.catalog {
		var got product
		found, err := chaosGetJSON(urls["inventory"]+"/v1/products/"+p.sku, nil, &got)
		require.NoError(t, err)
		require.True(t, found, "product %s exists", p.sku)
		f.products[p.sku] = got
	}
	for _, topic := range r.sys.Spy.Topics() {
		for _, a := range r.sys.Spy.Arrivals(topic) {
			e := chaosEvent{at: a.At, raw: a.Raw}
			if err := json.Unmarshal(a.Raw, &e); err != nil {
				fail("spy event on %s is not JSON: %v", topic, err)
				continue
			}
			f.events[topic] = append(f.events[topic], e)
			if first, ok := f.firstSeen[e.ID]; !ok || a.At.Before(first) {
				f.firstSeen[e.ID] = a.At
			}
			if first, ok := f.placed[e.Subject]; topic == "order.placed" && (!ok || a.At.Before(first)) {
				f.placed[e.Subject] = a.At
			}
		}
	}
	if dl := r.sys.System.App("deadletters"); dl != nil {
		f.kept = map[string]string{}
		cursor := ""
		for page := 0; page < 1000; page++ { // bounded: 200 per page
			var p struct {
				DeadLetters []struct{ DeadLetterTopic, EventID, Status string }
				Next        string
			}
			found, err := chaosGetJSON(dl.URL()+"/v1/deadletters?limit=200&cursor="+cursor, r.admin, &p)
			if err != nil || !found {
				fail("listing the kept dead letters: found %t, %v", found, err)
				break
			}
			for _, d := range p.DeadLetters {
				f.kept[strings.TrimPrefix(d.DeadLetterTopic, r.sys.TopicPrefix)+"/"+d.EventID] = d.Status
			}
			if cursor = p.Next; cursor == "" {
				break
			}
		}
	}
	f.mail, f.mailFirst, f.mailLast, f.mailReliable = mail.snapshot()
	entries, err := os.ReadDir(filepath.Join(r.sys.DataDir, "mail"))
	require.NoError(t, err)
	for _, e := range entries {
		f.mailFiles[e.Name()] = true
	}
	return f
}

// chaosTable is the verdict: one row per kind of violation.
type chaosTable struct {
	rows   []*chaosRow
	byName map[string]*chaosRow
	kills  []chaosRecovery
	// resentAfterSenderKill are the orders one of whose e-mails was sent again, with the same message id,
	// because the notifications app or its sidecar was killed between sending it and recording the send:
	// expected, not a violation, and listed so that a reader sees how often it happens.
	resentAfterSenderKill []string
	unknown               []string // kills after which no progress through the service was observed
	// offenders are the orders named by any row, in the order first named; notes say more about some.
	offenders []string
	notes     map[string][]string
}

type chaosRow struct {
	name  string
	count int
	ids   []string
}

type chaosRecovery struct {
	kill chaosKill
	took time.Duration
}

// chaosRows names every check, in the order the table lists them, so a clean run shows each with 0.
var chaosRows = []string{
	"order not terminal",
	"order lost (announced, not stored)",
	"history not monotonic",
	"order no client was told of",
	"several orders for one Idempotency-Key",
	"placement never confirmed to its client",
	"POST answered 5xx after publishing",
	"double charge",
	"charged, neither shipped nor refunded",
	"shipped without a charge",
	"refund without a charge",
	"PAYMENT_FAILED but charged",
	"payments' record disagrees",
	"reservation disagrees with the order",
	"stock not conserved (SKU)",
	"stock still reserved (SKU)",
	"committed ≠ shipped quantity (SKU)",
	"e-mail missing",
	"e-mails contradicting",
	"e-mail sent more than once",
	"e-mail log ≠ mail folder",
	"dead letters not handled",
	"dead letter not kept by deadletters",
	"deliveries outstanding at the end",
	"event fails its schema",
	"killed pod not back",
	"recovery over 15 s",
	"test instrument restarted",
	"final state unreadable",
}

func newChaosTable() *chaosTable {
	tb := &chaosTable{byName: map[string]*chaosRow{}, notes: map[string][]string{}}
	for _, name := range chaosRows {
		row := &chaosRow{name: name}
		tb.rows = append(tb.rows, row)
		tb.byName[name] = row
	}
	return tb
}

// add counts one violation of row, naming what it is about.
func (tb *chaosTable) add(row, id string) {
	r := tb.byName[row]
	if r == nil {
		panic("chaos: no table row " + row) // a typo in a check, not a finding
	}
	r.count++
	if !slices.Contains(r.ids, id) {
		r.ids = append(r.ids, id)
	}
}

// flag counts one violation of row by an order, and lists the order among the offenders detailed below the
// table.
func (tb *chaosTable) flag(row, orderID string) {
	tb.add(row, orderID)
	tb.offend(orderID)
}

func (tb *chaosTable) offend(orderID string) {
	if !slices.Contains(tb.offenders, orderID) {
		tb.offenders = append(tb.offenders, orderID)
	}
}

func (tb *chaosTable) violations() int {
	n := 0
	for _, r := range tb.rows {
		n += r.count
	}
	return n
}

var chaosOutcomeMails = []string{"stock.rejected", "payment.failed", "shipment.dispatched", "order.cancelled"}

// check applies every invariant to the final state.
func (r *chaosRun) check(t *testing.T, f *chaosFinal, faults chaosFaultReport, quiet string) *chaosTable {
	t.Helper()
	tb := newChaosTable()
	for _, e := range f.errs {
		tb.add("final state unreadable", e)
	}
	r.checkClients(tb, f)
	for _, id := range slices.Sorted(maps.Keys(f.states)) {
		s := f.states[id]
		if !s.found {
			tb.flag("order lost (announced, not stored)", id)
			continue
		}
		if !slices.Contains(terminal, s.order.Status) {
			tb.flag("order not terminal", id)
		}
		if problem := chaosHistoryProblem(s.order); problem != "" {
			tb.flag("history not monotonic", id)
			tb.notes[id] = append(tb.notes[id], "history "+problem)
		}
		chaosCheckMoney(tb, id, s)
		chaosCheckReservation(tb, id, s)
		chaosCheckMail(tb, id, s, f)
	}
	r.checkStock(tb, f)
	for _, topic := range harness.DeadLetterTopics {
		for _, e := range f.events[topic] {
			// Replayed (by the deadletters service) is handled; anything else waits for an operator, or is lost.
			status, kept := f.kept[topic+"/"+e.ID]
			if f.kept != nil && !kept {
				tb.add("dead letter not kept by deadletters", topic+": "+e.Subject)
			}
			if status != "replayed" {
				tb.add("dead letters not handled", topic+": "+e.Subject)
				tb.offend(e.Subject)
			}
		}
	}
	if strings.HasPrefix(quiet, "gave up") {
		rdb := redis.NewClient(&redis.Options{Addr: r.redis.Addr})
		backlog, err := chaosBacklog(t.Context(), rdb, r.sys.TopicPrefix)
		rdb.Close()
		if err != nil {
			backlog = append(backlog, err.Error())
		}
		for _, b := range backlog {
			tb.add("deliveries outstanding at the end", b)
		}
	}
	chaosCheckSchemas(t, tb, f)
	r.checkRecovery(tb, f, faults)
	for _, rs := range r.sv.Restarts() {
		if !slices.Contains(chaosServices, rs.App) {
			tb.add("test instrument restarted", rs.App+" "+string(rs.Part))
		}
	}
	return tb
}

// checkClients compares what the clients were told with what the services announced.
func (r *chaosRun) checkClients(tb *chaosTable, f *chaosFinal) {
	told := map[string]bool{}
	for _, o := range r.orders {
		for _, id := range o.ids {
			told[id] = true
		}
		if o.id == "" {
			tb.add("placement never confirmed to its client", o.key)
			continue
		}
		if len(o.ids) > 1 {
			tb.add("several orders for one Idempotency-Key", o.key+" → "+strings.Join(o.ids, ","))
		}
		charged := 0
		for _, id := range o.ids {
			if s := f.states[id]; s != nil && s.charged() {
				charged++
			}
		}
		if charged > 1 {
			tb.add("double charge", o.key+" → "+strings.Join(o.ids, ","))
		}
		placed, ok := f.placed[o.id]
		for i, a := range o.attempts {
			// The attempt that announced the order answered 5xx: the spy saw the announcement before the answer
			// and after the previous attempt had been answered (a replay of an order announced earlier may
			// still fail, and the client retries it anyway).
			announcedDuring := ok && placed.Before(a.end) && (i == 0 || placed.After(o.attempts[i-1].end))
			if a.status >= 500 && announcedDuring {
				tb.flag("POST answered 5xx after publishing", o.id)
			}
		}
	}
	for id := range f.placed {
		if !told[id] {
			tb.flag("order no client was told of", id)
			if s := f.states[id]; s != nil && s.charged() {
				tb.add("double charge", id+" (no client was told of it)")
			}
		}
	}
}

// chaosHistoryProblem says how an order's history breaks the status machine ("" if it does not): it starts
// PENDING, never repeats or steps back on the happy path, goes forward in time, and ends with exactly one
// terminal status, the order's.
func chaosHistoryProblem(o chaosOrderView) string {
	rank := map[string]int{"PENDING": 0, "RESERVED": 1, "PAID": 2, "SHIPPED": 3}
	h := o.History
	if len(h) == 0 || h[0].Status != "PENDING" {
		return "does not start PENDING"
	}
	seen, last, terminals := map[string]bool{}, -1, 0
	for i, c := range h {
		switch r, happy := rank[c.Status]; {
		case seen[c.Status]:
			return c.Status + " twice"
		case i > 0 && c.At.Before(h[i-1].At):
			return "goes back in time at " + c.Status
		case happy && r < last:
			return "steps back to " + c.Status
		case happy:
			last = r
		}
		seen[c.Status] = true
		if slices.Contains(terminal, c.Status) {
			terminals++
			if i != len(h)-1 {
				return "moves on after " + c.Status
			}
		}
	}
	if terminals > 1 || h[len(h)-1].Status != o.Status {
		return "ends in " + h[len(h)-1].Status + ", order is " + o.Status
	}
	return ""
}

// chaosCheckMoney holds the provider's ledger, payments' record and the order to one story.
func chaosCheckMoney(tb *chaosTable, id string, s *chaosState) {
	charged, pay, status := s.charged(), s.paymentStatus(), s.order.Status
	refunded := pay == "REFUNDED"
	switch {
	case charged && status != "SHIPPED" && !refunded:
		tb.flag("charged, neither shipped nor refunded", id)
	case !charged && status == "SHIPPED":
		tb.flag("shipped without a charge", id)
	}
	if (refunded || s.order.RefundedAt != nil) && !charged {
		tb.flag("refund without a charge", id)
	}
	if status == "PAYMENT_FAILED" && charged {
		tb.flag("PAYMENT_FAILED but charged", id)
	}
	disagrees := pay == "CHARGING" ||
		(pay == "CHARGED" && (!charged || status != "SHIPPED")) ||
		((pay == "FAILED" || pay == "VOIDED") && charged) ||
		(status == "SHIPPED" && pay != "CHARGED") ||
		(status == "PAYMENT_FAILED" && pay != "FAILED") ||
		(refunded != (s.order.RefundedAt != nil)) ||
		(charged && s.order.TotalCents != nil && s.charge.AmountCents != *s.order.TotalCents)
	if disagrees {
		tb.flag("payments' record disagrees", id)
	}
}

// chaosCheckReservation: a shipped order's stock is committed; any other finished order holds nothing.
func chaosCheckReservation(tb *chaosTable, id string, s *chaosState) {
	res := ""
	if s.reservation != nil {
		res = s.reservation.Status
	}
	shipped := s.order.Status == "SHIPPED"
	holds := res == "RESERVED" || res == "EXPIRING"
	if (shipped && res != "COMMITTED") || (!shipped && slices.Contains(terminal, s.order.Status) && (holds || res == "COMMITTED")) {
		tb.flag("reservation disagrees with the order", id)
	}
}

// chaosCheckMail: one e-mail per lifecycle event, exactly once, never two different fates, and what the
// notifications log says was sent is what reached the mail folder.
func chaosCheckMail(tb *chaosTable, id string, s *chaosState, f *chaosFinal) {
	var outcomes []string
	for _, ev := range s.sent {
		if slices.Contains(chaosOutcomeMails, ev) {
			outcomes = append(outcomes, ev)
		}
	}
	status, refunded := s.order.Status, s.paymentStatus() == "REFUNDED"
	sent := func(ev string) bool { return slices.Contains(s.sent, ev) }
	if !sent("order.placed") || len(outcomes) == 0 || len(s.unsent) > 0 && !chaosOnlyWithheld(s.unsent) ||
		(status == "SHIPPED" && !sent("shipment.dispatched")) || (refunded && !sent("payment.refunded")) {
		tb.flag("e-mail missing", id)
	}
	if len(outcomes) > 1 || (sent("shipment.dispatched") && status != "SHIPPED") ||
		(sent("payment.refunded") && !refunded) || (sent("payment.failed") && s.charged() && !refunded) {
		tb.flag("e-mails contradicting", id)
	}
	for _, ev := range s.sent {
		file := id + "-" + ev + ".eml"
		if !f.mailFiles[file] {
			tb.flag("e-mail log ≠ mail folder", id)
		}
		if f.mail[file] > 1 {
			// Sending and recording the send are two steps: a sending path killed between them (the app, or
			// its sidecar while the binding call is in flight) re-sends after the claim's lease, with the same
			// message id, which a provider deduplicates (docs/design.md). That is the one re-send allowed;
			// any other is a violation.
			if f.senderKilledBetween(f.mailFirst[file], f.mailLast[file]) {
				tb.resentAfterSenderKill = append(tb.resentAfterSenderKill, id)
			} else {
				tb.flag("e-mail sent more than once", id)
			}
		}
	}
	for file := range f.mailFiles {
		if ev, ok := strings.CutPrefix(file, id+"-"); ok && !sent(strings.TrimSuffix(ev, ".eml")) {
			tb.flag("e-mail log ≠ mail folder", id)
		}
	}
}

// chaosSendInFlight bounds how long before its file is written a send can have been handed to the sidecar: a
// kill that early still catches the send in flight (the sidecar writes the file, the app never hears back).
const chaosSendInFlight = 2 * time.Second

// senderKilledBetween reports whether the sending path — the notifications app or its sidecar — was killed
// while the first write of an e-mail was in flight or before its last write.
func (f *chaosFinal) senderKilledBetween(first, last time.Time) bool {
	for _, k := range f.senderKills {
		if k.After(first.Add(-chaosSendInFlight)) && k.Before(last) {
			return true
		}
	}
	return false
}

// chaosOnlyWithheld reports whether every unsent e-mail was withheld on purpose (a second fate).
func chaosOnlyWithheld(unsent []string) bool {
	for _, u := range unsent {
		if !strings.HasSuffix(u, "(withheld)") {
			return false
		}
	}
	return true
}

// checkStock: per SKU, what was stocked is available + reserved + committed, nothing stays reserved once
// every order ended, and what is committed is exactly what shipped.
func (r *chaosRun) checkStock(tb *chaosTable, f *chaosFinal) {
	shipped := map[string]int{}
	for _, s := range f.states {
		if s.found && s.order.Status == "SHIPPED" {
			for _, it := range s.order.Items {
				shipped[it.SKU] += it.Quantity
			}
		}
	}
	for _, p := range r.catalog {
		got := f.products[p.sku]
		if got.Available+got.Reserved+got.Committed != p.initial || got.Available < 0 {
			tb.add("stock not conserved (SKU)", fmt.Sprintf("%s: %d stocked, %d+%d+%d", p.sku, p.initial, got.Available, got.Reserved, got.Committed))
		}
		if got.Reserved != 0 {
			tb.add("stock still reserved (SKU)", fmt.Sprintf("%s: %d", p.sku, got.Reserved))
		}
		if got.Committed != shipped[p.sku] {
			tb.add("committed ≠ shipped quantity (SKU)", fmt.Sprintf("%s: %d committed, %d shipped", p.sku, got.Committed, shipped[p.sku]))
		}
	}
}

// chaosCheckSchemas validates every event the services published against docs/events.
func chaosCheckSchemas(t *testing.T, tb *chaosTable, f *chaosFinal) {
	t.Helper()
	v, err := eventschema.Load(filepath.Join(harness.Root(t), "docs", "events"))
	require.NoError(t, err)
	for topic, evs := range f.events {
		if slices.Contains(harness.DeadLetterTopics, topic) {
			continue // dead letters are counted on their own row
		}
		for _, e := range evs {
			if err := v.Validate(e.raw); err != nil {
				tb.add("event fails its schema", topic+": "+e.Subject)
			}
		}
	}
}

// chaosPublishes are the topics each service publishes: progress through it after a restart shows as a new
// one of these (notifications' progress is a new e-mail).
var chaosPublishes = map[string][]string{
	"orders":    {"order.placed", "order.cancel-requested", "order.cancelled"},
	"inventory": {"stock.reserved", "stock.rejected", "stock.released", "reservation.expired"},
	"payments":  {"payment.succeeded", "payment.failed", "payment.refunded"},
	"shipping":  {"shipment.dispatched", "shipment.cancelled"},
}

// checkRecovery measures, for every kill, the time from the restart to the first order the restarted service
// moved forward: the first event it published that was new (an id never seen before) and decided after the
// restart (its time), or for notifications the first new e-mail file.
func (r *chaosRun) checkRecovery(tb *chaosTable, f *chaosFinal, faults chaosFaultReport) {
	for _, k := range faults.kills {
		if k.err != nil || k.restart.StartedAt.IsZero() {
			tb.add("killed pod not back", k.String())
			continue
		}
		from := k.restart.StartedAt
		var progress time.Time
		consider := func(at time.Time) {
			if !at.Before(from) && (progress.IsZero() || at.Before(progress)) {
				progress = at
			}
		}
		if k.app == "notifications" {
			for _, at := range f.mailFirst {
				consider(at)
			}
		}
		for _, topic := range chaosPublishes[k.app] {
			for _, e := range f.events[topic] {
				if f.firstSeen[e.ID].Equal(e.at) && !e.Time.Before(from) {
					consider(e.at)
				}
			}
		}
		if progress.IsZero() {
			tb.unknown = append(tb.unknown, k.String())
			continue
		}
		rec := chaosRecovery{kill: k, took: progress.Sub(from)}
		tb.kills = append(tb.kills, rec)
		if rec.took > chaosRecoveryTarget {
			tb.add("recovery over 15 s", fmt.Sprintf("%s: %s", k, rec.took.Round(100*time.Millisecond)))
		}
	}
}

// chaosPercentile is the nearest-rank percentile of sorted durations.
func chaosPercentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p+0.999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// render prints the run's summary and the table.
func (tb *chaosTable) render(r *chaosRun, f *chaosFinal, faults chaosFaultReport) string {
	var b strings.Builder
	outcomes := map[string]int{}
	for _, s := range f.states {
		outcomes[s.order.Status]++
	}
	var parts []string
	for _, st := range slices.Sorted(maps.Keys(outcomes)) {
		parts = append(parts, fmt.Sprintf("%s %d", chaosOrDash(st), outcomes[st]))
	}
	retried, asked := 0, 0
	cancels := map[int]int{} // final answer to the cancellation → how many
	for _, o := range r.orders {
		if o.cancelAfter > 0 && o.id != "" {
			asked++
			cancels[o.cancelStatus]++
		}
		if len(o.attempts) > 1 {
			retried++
		}
	}
	fmt.Fprintf(&b, "CHAOS RESULT (seed %d): %d client orders (%d retried with their Idempotency-Key; cancellations: %d accepted, %d too late, %d unanswered), %d orders in the system: %s\n",
		r.cfg.seed, len(r.orders), retried, cancels[http.StatusAccepted], cancels[http.StatusConflict],
		asked-cancels[http.StatusAccepted]-cancels[http.StatusConflict], len(f.states), strings.Join(parts, ", "))
	killed := map[string]int{}
	for _, k := range faults.kills {
		killed[k.app+" "+string(k.part)]++
	}
	writes := 0
	for _, n := range f.mail {
		writes += n
	}
	fmt.Fprintf(&b, "faults: %d kills %v, %d Redis pauses (2–5 s; %d signal errors), %d/%d duplicate deliveries; %d supervisor restarts; %d e-mail files, %d writes %s\n",
		len(faults.kills), killed, len(faults.paused), len(faults.pauseErrs), faults.duplicatesOK, faults.duplicates, len(r.sv.Restarts()), len(f.mailFiles), writes,
		map[bool]string{true: "(inotify)", false: "(inotify queue overflowed: write counts incomplete, duplicate sends may go unseen)"}[f.mailReliable])
	took := make([]time.Duration, len(tb.kills))
	for i, k := range tb.kills {
		took[i] = k.took
	}
	slices.Sort(took)
	fmt.Fprintf(&b, "recovery (restart → first order moved forward by the service), %d kills measured: p50 %s, p99 %s, max %s (target p99 < %s)",
		len(took), chaosPercentile(took, 0.5).Round(10*time.Millisecond), chaosPercentile(took, 0.99).Round(10*time.Millisecond),
		chaosPercentile(took, 1).Round(10*time.Millisecond), chaosRecoveryTarget)
	if len(tb.unknown) > 0 {
		fmt.Fprintf(&b, "; no progress seen after %v", tb.unknown)
	}
	b.WriteString("\n")
	for _, k := range tb.kills {
		note := ""
		if k.kill.restarts > 1 {
			note += fmt.Sprintf(" (%d restarts)", k.kill.restarts)
		}
		for _, p := range faults.paused {
			if p[0].Before(k.kill.restart.ReadyAt) && p[1].After(k.kill.at) {
				note += " (Redis paused meanwhile)"
				break
			}
		}
		fmt.Fprintf(&b, "  kill %-32s restarted +%-6s ready +%-6s recovered +%s%s\n", k.kill.String(),
			k.kill.restart.StartedAt.Sub(k.kill.at).Round(10*time.Millisecond), k.kill.restart.ReadyAt.Sub(k.kill.at).Round(10*time.Millisecond),
			(k.kill.restart.StartedAt.Sub(k.kill.at) + k.took).Round(10*time.Millisecond), note)
	}
	fmt.Fprintf(&b, "%-42s %6s  %s\n", "check", "count", "offending (up to 10)")
	for _, row := range tb.rows {
		ids := row.ids
		sort.Strings(ids)
		if len(ids) > 10 {
			ids = append(ids[:10:10], fmt.Sprintf("… %d more", len(row.ids)-10))
		}
		fmt.Fprintf(&b, "%-42s %6d  %s\n", row.name, row.count, strings.Join(ids, " "))
	}
	fmt.Fprintf(&b, "(not a violation) e-mail re-sent, same message id, notifications killed while sending: %d %s\n",
		len(tb.resentAfterSenderKill), strings.Join(tb.resentAfterSenderKill, " "))
	fmt.Fprintf(&b, "TOTAL VIOLATIONS: %d", tb.violations())
	tb.renderOffenders(&b, r, f)
	return b.String()
}

// chaosMaxDetailed bounds the offending orders described in full under the table.
const chaosMaxDetailed = 20

// renderOffenders describes the first offending orders in full: what the client asked and was told, and what
// every service and the provider say, so a violation can be followed without rerunning.
func (tb *chaosTable) renderOffenders(b *strings.Builder, r *chaosRun, f *chaosFinal) {
	byID := map[string]*chaosOrder{}
	for _, o := range r.orders {
		for _, id := range o.ids {
			byID[id] = o
		}
	}
	for i, id := range tb.offenders {
		if i == chaosMaxDetailed {
			fmt.Fprintf(b, "\n… %d more offending orders", len(tb.offenders)-i)
			break
		}
		s := f.states[id]
		if s == nil {
			continue
		}
		fmt.Fprintf(b, "\n%s:", id)
		if o := byID[id]; o != nil {
			var answers []string
			for _, a := range o.attempts {
				if a.err != nil {
					answers = append(answers, "no answer")
				} else {
					answers = append(answers, fmt.Sprint(a.status))
				}
			}
			fmt.Fprintf(b, " client %s %v key %s, POST answers [%s]", o.token, o.items, o.key, strings.Join(answers, ", "))
			if o.cancelAfter > 0 {
				fmt.Fprintf(b, ", cancel after %s → %d", o.cancelAfter, o.cancelStatus)
			}
			b.WriteString(";")
		}
		var history []string
		for _, h := range s.order.History {
			history = append(history, h.Status+"@"+h.At.Format("15:04:05.000"))
		}
		charge := "none"
		if s.charge != nil {
			charge = fmt.Sprintf("%s (%d attempts)", chaosOrDash(s.charge.Status), s.charge.Attempts)
		}
		reservation := "none"
		if s.reservation != nil {
			reservation = s.reservation.Status
		}
		var writes []string
		for _, ev := range s.sent {
			writes = append(writes, fmt.Sprintf("%s×%d", ev, f.mail[id+"-"+ev+".eml"]))
		}
		fmt.Fprintf(b, " order %s %v; payment %s; provider %s; reservation %s; e-mails %v unsent %v",
			chaosOrDash(s.order.Status), history, chaosOrDash(s.paymentStatus()), charge, reservation, writes, s.unsent)
		for _, n := range tb.notes[id] {
			b.WriteString("; " + n)
		}
	}
}

func chaosOrDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
