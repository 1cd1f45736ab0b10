package tests

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"orderflow/tests/harness"
)

// The chaos suite is only worth its green if its checks see what they are meant to: each case below breaks
// one thing in an otherwise consistent final state and expects exactly the rows that name it.

// chaosShipped is a consistent final state of a shipped order "o1" (total 1000) and its mail folder.
func chaosShipped() (*chaosState, *chaosFinal) {
	total := int64(1000)
	at := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	s := &chaosState{
		found:       true,
		order:       chaosOrderView{ID: "o1", Status: "SHIPPED", Items: []chaosItem{{"CHAOS-A", 2}}, TotalCents: &total},
		payment:     &struct{ Status string }{"CHARGED"},
		charge:      &chaosCharge{Status: "succeeded", AmountCents: 1000, Attempts: 1},
		reservation: &struct{ Status string }{"COMMITTED"},
		sent:        []string{"order.placed", "shipment.dispatched"},
	}
	for i, st := range []string{"PENDING", "RESERVED", "PAID", "SHIPPED"} {
		s.order.History = append(s.order.History, struct {
			Status string    `json:"status"`
			At     time.Time `json:"at"`
		}{st, at.Add(time.Duration(i) * time.Second)})
	}
	f := &chaosFinal{states: map[string]*chaosState{"o1": s},
		mail:      map[string]int{"o1-order.placed.eml": 1, "o1-shipment.dispatched.eml": 1},
		mailFiles: map[string]bool{"o1-order.placed.eml": true, "o1-shipment.dispatched.eml": true}}
	return s, f
}

// chaosFlagged runs the per-order checks and returns the rows that counted a violation.
func chaosFlagged(s *chaosState, f *chaosFinal) []string {
	tb := newChaosTable()
	if problem := chaosHistoryProblem(s.order); problem != "" {
		tb.add("history not monotonic", problem)
	}
	chaosCheckMoney(tb, s.order.ID, s)
	chaosCheckReservation(tb, s.order.ID, s)
	chaosCheckMail(tb, s.order.ID, s, f)
	return chaosFlaggedRows(tb)
}

func chaosFlaggedRows(tb *chaosTable) []string {
	var out []string
	for _, r := range tb.rows {
		if r.count > 0 {
			out = append(out, r.name)
		}
	}
	return out
}

func TestChaosChecksFlagBrokenOrders(t *testing.T) {
	at := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		mutate func(*chaosState, *chaosFinal)
		want   []string
	}{
		{"consistent shipped order", func(*chaosState, *chaosFinal) {}, nil},
		{"payment failed although the card was charged", func(s *chaosState, f *chaosFinal) {
			s.order.Status, s.payment.Status = "PAYMENT_FAILED", "FAILED"
			s.order.History[2].Status, s.order.History = "PAYMENT_FAILED", s.order.History[:3]
			s.reservation.Status, s.sent = "RELEASED", []string{"order.placed", "payment.failed"}
			f.mailFiles = map[string]bool{"o1-order.placed.eml": true, "o1-payment.failed.eml": true}
		}, []string{"charged, neither shipped nor refunded", "PAYMENT_FAILED but charged", "payments' record disagrees", "e-mails contradicting"}},
		{"shipped without a charge", func(s *chaosState, _ *chaosFinal) { s.charge = nil },
			[]string{"shipped without a charge", "payments' record disagrees"}},
		{"refunded without a charge", func(s *chaosState, _ *chaosFinal) {
			s.charge.Status, s.payment.Status, s.order.RefundedAt = "declined", "REFUNDED", &time.Time{}
		}, []string{"shipped without a charge", "refund without a charge", "payments' record disagrees", "e-mail missing"}},
		{"charge left unresolved", func(s *chaosState, _ *chaosFinal) { s.payment.Status = "CHARGING" },
			[]string{"payments' record disagrees"}},
		{"provider charged another amount", func(s *chaosState, _ *chaosFinal) { s.charge.AmountCents = 2000 },
			[]string{"payments' record disagrees"}},
		{"history steps back", func(s *chaosState, _ *chaosFinal) {
			s.order.History[1].Status, s.order.History[2].Status = "PAID", "RESERVED"
		}, []string{"history not monotonic"}},
		{"history goes on after a terminal status", func(s *chaosState, _ *chaosFinal) { s.order.History[2].Status = "CANCELLED" },
			[]string{"history not monotonic"}},
		{"shipped but the stock is still only held", func(s *chaosState, _ *chaosFinal) { s.reservation.Status = "RESERVED" },
			[]string{"reservation disagrees with the order"}},
		{"e-mail written twice", func(_ *chaosState, f *chaosFinal) {
			f.mail["o1-shipment.dispatched.eml"] = 2
			f.mailFirst = map[string]time.Time{"o1-shipment.dispatched.eml": at}
			f.mailLast = map[string]time.Time{"o1-shipment.dispatched.eml": at.Add(20 * time.Second)}
			f.senderKills = []time.Time{at.Add(-3 * time.Second), at.Add(21 * time.Second)} // none while sending
		}, []string{"e-mail sent more than once"}},
		{"e-mail re-sent because its sender was killed between sending and recording", func(_ *chaosState, f *chaosFinal) {
			f.mail["o1-shipment.dispatched.eml"] = 2
			f.mailFirst = map[string]time.Time{"o1-shipment.dispatched.eml": at}
			f.mailLast = map[string]time.Time{"o1-shipment.dispatched.eml": at.Add(20 * time.Second)}
			f.senderKills = []time.Time{at.Add(5 * time.Millisecond)}
		}, nil},
		{"two fates mailed", func(s *chaosState, f *chaosFinal) {
			s.sent = append(s.sent, "order.cancelled")
			f.mailFiles["o1-order.cancelled.eml"] = true
		}, []string{"e-mails contradicting"}},
		{"shipping e-mail never sent", func(s *chaosState, f *chaosFinal) {
			s.sent, s.unsent = s.sent[:1], []string{"shipment.dispatched (sending)"}
			delete(f.mailFiles, "o1-shipment.dispatched.eml")
		}, []string{"e-mail missing"}},
		{"logged as sent, never reached the folder", func(_ *chaosState, f *chaosFinal) { delete(f.mailFiles, "o1-order.placed.eml") },
			[]string{"e-mail log ≠ mail folder"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, f := chaosShipped()
			tc.mutate(s, f)
			assert.Equal(t, tc.want, chaosFlagged(s, f))
		})
	}
}

func TestChaosChecksFlagClientsStockAndRecovery(t *testing.T) {
	s, f := chaosShipped()
	twin := *s
	f.states["o2"], f.states["o3"] = &twin, &twin
	placed := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	f.placed = map[string]time.Time{"o1": placed, "o2": placed, "o3": placed}
	f.products = map[string]product{"CHAOS-A": {SKU: "CHAOS-A", Available: 90, Reserved: 1, Committed: 2}}
	r := &chaosRun{
		catalog: []chaosProduct{{sku: "CHAOS-A", priceCents: 500, initial: 100}},
		orders: []*chaosOrder{
			// o1 and o2 both answered for one key; the first answer was a 5xx after o1 was announced.
			{key: "k1", id: "o2", ids: []string{"o1", "o2"}, attempts: []chaosAttempt{{end: placed.Add(time.Second), status: 503}, {status: 201}}},
			{key: "k2"},
		},
	}
	tb := newChaosTable()
	r.checkClients(tb, f)
	r.checkStock(tb, f)
	assert.Equal(t, []string{
		"order no client was told of", "several orders for one Idempotency-Key", "placement never confirmed to its client",
		"POST answered 5xx after publishing", "double charge",
		"stock not conserved (SKU)", "stock still reserved (SKU)", "committed ≠ shipped quantity (SKU)",
	}, chaosFlaggedRows(tb))

	killed := placed.Add(time.Minute)
	f.events = map[string][]chaosEvent{"stock.reserved": {
		// An announcement decided before the restart proves nothing about the new process; the next one does.
		{Envelope: harness.Envelope{ID: "o1/stock.reserved"}, Time: killed.Add(-time.Second), at: killed.Add(time.Second)},
		{Envelope: harness.Envelope{ID: "o2/stock.reserved"}, Time: killed.Add(20 * time.Second), at: killed.Add(20 * time.Second)},
	}}
	f.firstSeen = map[string]time.Time{"o1/stock.reserved": killed.Add(time.Second), "o2/stock.reserved": killed.Add(20 * time.Second)}
	tb = newChaosTable()
	r.checkRecovery(tb, f, chaosFaultReport{kills: []chaosKill{
		{app: "inventory", part: harness.Sidecar, at: killed, restart: harness.Restart{StartedAt: killed}},
		{app: "shipping", part: harness.AppProcess, at: killed, err: assert.AnError},
	}})
	assert.Equal(t, []string{"killed pod not back", "recovery over 15 s"}, chaosFlaggedRows(tb))
	if assert.Len(t, tb.kills, 1) {
		assert.Equal(t, 20*time.Second, tb.kills[0].took)
	}
}
