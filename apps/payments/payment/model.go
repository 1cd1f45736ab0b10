package payment

import (
	"cmp"
	"time"

	"orderflow/internal/events"
)

// Status is a ledger record's state.
type Status string

// Ledger statuses.
const (
	// Charging: the charge was (or is about to be) sent and its outcome is not known yet.
	Charging Status = "CHARGING"
	Charged  Status = "CHARGED"
	Failed   Status = "FAILED"
	Voided   Status = "VOIDED"
	Refunded Status = "REFUNDED"
)

// Payment is the ledger record of one order.
type Payment struct {
	OrderID     string `json:"orderId"`
	CustomerID  string `json:"customerId,omitempty"`
	Status      Status `json:"status"`
	AmountCents int64  `json:"amountCents"`
	Currency    string `json:"currency"`
	// IdempotencyKey is the key the charge was sent under; set from the moment the intent is recorded.
	IdempotencyKey string `json:"idempotencyKey,omitempty"`
	PaymentID      string `json:"paymentId,omitempty"`
	RefundID       string `json:"refundId,omitempty"`
	FailureCode    string `json:"failureCode,omitempty"`
	FailureReason  string `json:"failureReason,omitempty"`
	// CancelReason is set when the order was stopped while its charge was CHARGING: whatever the charge turns
	// out to be, it is not kept (refunded if taken, voided otherwise).
	CancelReason string    `json:"cancelReason,omitempty"`
	CreatedAt    time.Time `json:"createdAt"`
	UpdatedAt    time.Time `json:"updatedAt"`
}

// verdict is what the provider decided under an order's idempotency key.
type verdict int

const (
	approved verdict = iota + 1
	declined
	// nothingCharged: the provider holds no charge under the key (the call failed before it charged, or none
	// was sent).
	nothingCharged
)

type outcome struct {
	verdict verdict
	charge  ChargeResult
}

func decided(res ChargeResult) outcome {
	if res.Approved {
		return outcome{verdict: approved, charge: res}
	}
	return outcome{verdict: declined, charge: res}
}

// resolve turns a CHARGING record into its final state, for any verdict but an approval of a stopped order
// (which is refunded instead).
func resolve(p Payment, out outcome, now time.Time) Payment {
	p.UpdatedAt = now
	switch {
	case out.verdict == approved:
		p.Status, p.PaymentID = Charged, out.charge.ChargeID
	case p.CancelReason != "":
		p.Status, p.FailureReason = Voided, "order stopped before payment: "+p.CancelReason
	case out.verdict == declined:
		p.Status, p.FailureCode, p.FailureReason = Failed, declineCode(out.charge.DeclineCode), cmp.Or(out.charge.Message, "the card was declined")
	default:
		p.Status, p.FailureCode, p.FailureReason = Failed, events.PaymentProviderUnavailable, "the card provider did not answer in time; no money was taken"
	}
	return p
}

// declineCode maps the provider's decline codes onto the ones payment.failed documents; anything unknown is a
// plain decline.
func declineCode(code string) string {
	switch code {
	case events.PaymentInsufficientFunds, events.PaymentAmountOverLimit:
		return code
	}
	return events.PaymentDeclined
}
