// Package sim is a simulated card provider: a small HTTP API with the behaviour of a real payment gateway
// (bearer-token auth, idempotency keys, declines, timeouts, transient outages), so the saga can be run and
// tested without a real provider. It runs as its own process (apps/cardsim), outside payments, so a payments
// crash cannot reset what the "provider" remembers — exactly as with a real gateway. Production points the
// card-provider binding at the real gateway instead.
//
// Like a real gateway in test mode it accepts any test-mode API key (Bearer sk_test_…), so it needs no copy
// of the secret that payments reads from the secret store; requests without one get 401.
//
// Card tokens decide the outcome:
//
//	tok_visa, tok_mastercard    approved
//	tok_declined                declined: card_declined
//	tok_insufficient_funds      declined: insufficient_funds
//	any amount over 10,000.00   declined: amount_over_limit
//	tok_timeout                 never answers and never charges (the caller's timeout and retries apply; a
//	                            status lookup then finds no charge)
//	tok_unavailable_once        503 on the first attempt of each charge, approved when retried
//	tok_rate_limited            429 on the first attempt of each charge, approved when retried
//	tok_slow_approve            approved at once, but every answer about it comes after SlowApproveDelay,
//	                            longer than the caller's 1 s timeout: only a status lookup tells
//	tok_approve_drop            approved at once, then every request about it has its connection closed
//	                            without an answer
//	anything else               declined: card_declined ("unknown card token")
//
// tok_slow_approve and tok_approve_drop are the gateway faults that leave the caller without an outcome
// although the card was charged. A caller resolves them as with a real gateway: GET
// /v1/charges?idempotencyKey=… answers what was decided under a key (404: nothing was charged under it),
// quickly and whatever the token.
// GET /v1/charges/{key} is the simulator's own ledger for tests: every key it saw, decided or not, with the
// number of charge requests made under it.
package sim

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"
)

// AmountLimitCents is the largest amount the simulator approves.
const AmountLimitCents = 1_000_000

// SlowApproveDelay is how long tok_slow_approve takes to answer: longer than the card-provider binding's 1 s
// timeout (components/shared/resiliency.yaml), so every attempt times out after the card was charged.
const SlowApproveDelay = 1500 * time.Millisecond

// Charge is what the simulator remembers about one idempotency key.
type Charge struct {
	ID          string `json:"id"`
	Status      string `json:"status"`
	DeclineCode string `json:"declineCode,omitempty"`
	Message     string `json:"message,omitempty"`
	AmountCents int64  `json:"amountCents"`
	// Attempts counts every request made with the key, including retries the caller made after a failure.
	Attempts int `json:"attempts"`
}

// Server is the simulated provider.
type Server struct {
	mu      sync.Mutex
	charges map[string]*Charge
	refunds map[string]string
}

// New returns a simulator with no charges yet.
func New() *Server {
	return &Server{charges: map[string]*Charge{}, refunds: map[string]string{}}
}

// Handler serves the provider API.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/charges", s.auth(s.charge))
	mux.HandleFunc("POST /v1/refunds", s.auth(s.refund))
	mux.HandleFunc("GET /v1/charges", s.auth(s.lookup))
	mux.HandleFunc("GET /v1/charges/{key}", s.auth(s.inspect))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		reply(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		reply(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	return mux
}

func (s *Server) auth(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || !strings.HasPrefix(key, "sk_test_") || len(key) < len("sk_test_")+8 {
			reply(w, http.StatusUnauthorized, map[string]string{"error": "missing or invalid test-mode API key"})
			return
		}
		next(w, r)
	}
}

type chargeRequest struct {
	IdempotencyKey string `json:"idempotencyKey"`
	AmountCents    int64  `json:"amountCents"`
	Currency       string `json:"currency"`
	CardToken      string `json:"cardToken"`
	Description    string `json:"description"`
}

func (s *Server) charge(w http.ResponseWriter, r *http.Request) {
	var req chargeRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.IdempotencyKey == "" || req.AmountCents < 0 {
		reply(w, http.StatusBadRequest, map[string]string{"error": "idempotencyKey, amountCents and cardToken are required"})
		return
	}
	s.mu.Lock()
	c, seen := s.charges[req.IdempotencyKey]
	if !seen {
		c = &Charge{ID: "ch_" + digest(req.IdempotencyKey), AmountCents: req.AmountCents}
		s.charges[req.IdempotencyKey] = c
	}
	c.Attempts++
	attempts, decided := c.Attempts, c.Status != ""
	s.mu.Unlock()

	if !decided { // a decided key is an idempotent replay: the first outcome, never a second charge
		switch {
		case req.CardToken == "tok_timeout":
			select {
			case <-r.Context().Done():
			case <-time.After(30 * time.Second):
			}
			reply(w, http.StatusGatewayTimeout, map[string]string{"error": "timed out"})
			return
		case req.CardToken == "tok_unavailable_once" && attempts == 1:
			reply(w, http.StatusServiceUnavailable, map[string]string{"error": "temporarily unavailable"})
			return
		case req.CardToken == "tok_rate_limited" && attempts == 1:
			w.Header().Set("Retry-After", "1")
			reply(w, http.StatusTooManyRequests, map[string]string{"error": "too many requests"})
			return
		}
		status, code, msg := decide(req)
		s.mu.Lock()
		if c.Status == "" { // a concurrent request with the same key may have decided meanwhile
			c.Status, c.DeclineCode, c.Message = status, code, msg
		}
		s.mu.Unlock()
	}
	s.mu.Lock()
	snapshot := *c
	s.mu.Unlock()

	// The faults below strike after the decision, on the first attempt and on every replay alike: the card is
	// charged, and the caller cannot learn it from this request.
	switch req.CardToken {
	case "tok_slow_approve":
		select {
		case <-r.Context().Done():
			return // the caller gave up; the charge stands
		case <-time.After(SlowApproveDelay):
		}
	case "tok_approve_drop":
		dropConnection(w)
		return
	}
	reply(w, http.StatusOK, snapshot)
}

// dropConnection closes the client's connection without writing a response, as a gateway does when it
// crashes or a proxy resets the connection after the charge went through.
func dropConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// Not hijackable: the simulator serves HTTP/1.1 only, so only a test recorder gets here. Fail loudly
		// rather than answer as if nothing happened.
		http.Error(w, "the connection could not be dropped: "+err.Error(), http.StatusInternalServerError)
		return
	}
	_ = conn.Close()
}

func decide(req chargeRequest) (status, code, msg string) {
	switch {
	case req.AmountCents > AmountLimitCents:
		return "declined", "amount_over_limit", "the amount exceeds the card's limit of 10,000.00"
	case approves(req.CardToken):
		return "succeeded", "", ""
	case req.CardToken == "tok_declined":
		return "declined", "card_declined", "the card was declined"
	case req.CardToken == "tok_insufficient_funds":
		return "declined", "insufficient_funds", "the card has insufficient funds"
	default:
		return "declined", "card_declined", "unknown card token"
	}
}

// approves lists the tokens of good cards, including the ones whose answer is delayed, lost or refused once.
func approves(token string) bool {
	switch token {
	case "tok_visa", "tok_mastercard", "tok_unavailable_once", "tok_rate_limited", "tok_slow_approve", "tok_approve_drop":
		return true
	}
	return false
}

type refundRequest struct {
	IdempotencyKey string `json:"idempotencyKey"`
	ChargeID       string `json:"chargeId"`
	AmountCents    int64  `json:"amountCents"`
}

func (s *Server) refund(w http.ResponseWriter, r *http.Request) {
	var req refundRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.IdempotencyKey == "" || req.ChargeID == "" {
		reply(w, http.StatusBadRequest, map[string]string{"error": "idempotencyKey and chargeId are required"})
		return
	}
	s.mu.Lock()
	id, ok := s.refunds[req.IdempotencyKey]
	if !ok {
		id = "re_" + digest(req.IdempotencyKey)
		s.refunds[req.IdempotencyKey] = id
	}
	s.mu.Unlock()
	reply(w, http.StatusOK, map[string]string{"id": id, "status": "succeeded"})
}

// lookup is the gateway's status API: what was decided under an idempotency key. A key whose request is
// still pending or was abandoned before a decision (tok_timeout) has no charge: 404.
func (s *Server) lookup(w http.ResponseWriter, r *http.Request) {
	key := r.URL.Query().Get("idempotencyKey")
	if key == "" {
		reply(w, http.StatusBadRequest, map[string]string{"error": "the idempotencyKey query parameter is required"})
		return
	}
	s.mu.Lock()
	c, ok := s.charges[key]
	var snapshot Charge
	if ok {
		snapshot = *c
	}
	s.mu.Unlock()
	if !ok || snapshot.Status == "" {
		reply(w, http.StatusNotFound, map[string]string{"error": "no charge with that idempotency key"})
		return
	}
	reply(w, http.StatusOK, snapshot)
}

// inspect is the simulator's ledger entry for a key, decided or not, with its attempt count (for tests).
func (s *Server) inspect(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	c, ok := s.charges[r.PathValue("key")]
	var snapshot Charge
	if ok {
		snapshot = *c
	}
	s.mu.Unlock()
	if !ok {
		reply(w, http.StatusNotFound, map[string]string{"error": "no charge with that idempotency key"})
		return
	}
	reply(w, http.StatusOK, snapshot)
}

func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:24]
}

func reply(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}
