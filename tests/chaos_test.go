package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"orderflow/tests/harness"
)

// The chaos suite runs the whole system — real sidecars, real apps, a Redis of its own — under a realistic
// order mix while it SIGKILLs apps and sidecars (a supervisor restarts them, as Kubernetes would), freezes
// Redis and delivers events twice, then waits for quiet and checks what must hold whatever happened: every
// order ended once and moved forward only, money (the provider's ledger, payments' records, the order),
// stock, e-mails, dead letters. It prints one table row per kind of violation and fails if any is non-zero.
//
// `make test` runs the short version (~300 orders, 10 kills). `make chaos` runs
// CHAOS_ORDERS=2000 CHAOS_MIN_KILLS=20. Other knobs: CHAOS_SEED (the mix and the fault schedule; the default
// is fixed so runs are comparable), CHAOS_CLIENTS, CHAOS_TOKENS ("tok_visa=70,tok_declined=8,…").

// chaosServices are the saga's services, which faults are injected into. cardsim (its ledger is the money
// checks' reference) and the spy (the event record) are the test's instruments and are never killed, nor is
// deadletters, which only keeps what the others gave up on.
var chaosServices = []string{"orders", "inventory", "payments", "shipping", "notifications"}

// chaosSlowTokens are the card tokens whose approval the caller cannot see (cardsim): used when the
// simulator knows them.
var chaosSlowTokens = []string{"tok_slow_approve", "tok_approve_drop"}

type chaosToken struct {
	token  string
	weight int
}

type chaosConfig struct {
	orders, clients, minKills, redisPauses, duplicates int
	seed                                               uint64
	// faultPhase is how long orders are placed and faults injected; quietTimeout bounds the wait for quiet.
	faultPhase, quietTimeout time.Duration
	tokens                   []chaosToken
	// explicitTokens means CHAOS_TOKENS chose the mix, so no token is dropped silently.
	explicitTokens bool
}

func chaosConfigFromEnv(t *testing.T) chaosConfig {
	t.Helper()
	num := func(name string, def int) int {
		raw := os.Getenv(name)
		if raw == "" {
			return def
		}
		n, err := strconv.Atoi(raw)
		require.NoError(t, err, "%s must be an integer", name)
		require.Positive(t, n, "%s must be positive", name)
		return n
	}
	cfg := chaosConfig{
		orders:  num("CHAOS_ORDERS", 300),
		clients: num("CHAOS_CLIENTS", 8),
		// Ten kills cover every (service, app or sidecar) pair once.
		minKills: num("CHAOS_MIN_KILLS", 10),
		seed:     uint64(num("CHAOS_SEED", 1)),
		tokens: []chaosToken{
			{"tok_visa", 68}, {"tok_declined", 8}, {"tok_insufficient_funds", 6},
			{"tok_slow_approve", 9}, {"tok_approve_drop", 9},
		},
	}
	// Orders are spread over the fault phase (about 150 ms of it per order), so faults hit a system under load.
	cfg.faultPhase = min(max(time.Duration(cfg.orders)*150*time.Millisecond, 45*time.Second), 20*time.Minute)
	cfg.redisPauses = max(3, int(cfg.faultPhase/time.Minute))
	cfg.duplicates = max(20, cfg.orders/20)
	// Deliveries in flight to a killed sidecar come back after the pub/sub's processingTimeout (10 s) plus its
	// redeliverInterval (1 s), and then may need the Resiliency retries (about a minute), so quiet can take
	// that long after the last kill; the bound leaves room for a loaded machine.
	cfg.quietTimeout = 150*time.Second + cfg.faultPhase/4
	if raw := os.Getenv("CHAOS_TOKENS"); raw != "" {
		cfg.tokens, cfg.explicitTokens = nil, true
		for _, part := range strings.Split(raw, ",") {
			tok, w, ok := strings.Cut(strings.TrimSpace(part), "=")
			weight, err := strconv.Atoi(w)
			require.True(t, ok && err == nil && weight > 0, "CHAOS_TOKENS: %q is not token=weight", part)
			cfg.tokens = append(cfg.tokens, chaosToken{tok, weight})
		}
	}
	return cfg
}

func TestChaos(t *testing.T) {
	cfg := chaosConfigFromEnv(t)
	redis := harness.StartPrivateRedis(t)
	sys := harness.Start(t, harness.Options{Spy: true, RedisAddr: redis.Addr})
	sv := sys.Supervise(t)
	if !cfg.explicitTokens {
		cfg.tokens = chaosSupportedTokens(t, sys.CardSimulator, cfg.tokens)
	}
	t.Logf("chaos: %d orders from %d clients over %s, ≥%d kills, %d Redis pauses, %d duplicate deliveries, seed %d, tokens %v, private Redis %s",
		cfg.orders, cfg.clients, cfg.faultPhase, cfg.minKills, cfg.redisPauses, cfg.duplicates, cfg.seed, cfg.tokens, redis.Addr)

	run := &chaosRun{cfg: cfg, sys: sys, sv: sv, redis: redis, catalog: chaosCatalog(cfg)}
	run.authorize(t)
	for _, p := range run.catalog {
		chaosPutProduct(t, sys, p)
	}
	mail := chaosWatchMail(t, sys.DataDir)

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	start := time.Now()
	faults := run.injectFaults(ctx, rand.New(rand.NewPCG(cfg.seed, 0xfa17)), start.Add(cfg.faultPhase))
	run.placeOrders(ctx, sys.App(t, "orders").URL(), start)
	report := faults.wait()
	t.Logf("chaos: load done after %s: %d kills, %d Redis pauses, %d/%d duplicate deliveries published",
		time.Since(start).Round(time.Second), len(report.kills), len(report.paused), report.duplicatesOK, report.duplicates)

	require.NoError(t, redis.Resume(), "Redis runs again")
	require.NoError(t, sv.AwaitReady(ctx, 2*time.Minute), "every pod is back")
	quiet := run.awaitQuiet(t, ctx, time.Now().Add(cfg.quietTimeout))
	t.Logf("chaos: quiet after %s (%s)", time.Since(start).Round(time.Second), quiet)

	final := run.collect(t, ctx, mail)
	for _, k := range report.kills {
		if k.app == "notifications" {
			final.senderKills = append(final.senderKills, k.at)
		}
	}
	table := run.check(t, final, report, quiet)
	out := table.render(run, final, report)
	t.Log("\n" + out)
	fmt.Println(out)
	if n := table.violations(); n > 0 {
		t.Errorf("chaos: %d violations (see the table above; seed %d)", n, cfg.seed)
	}
}

// chaosRun is one chaos run's system and what the clients placed. It holds no *testing.T: its goroutines
// report through return values, and the checks take the test as an argument.
type chaosRun struct {
	cfg     chaosConfig
	sys     *harness.System
	sv      *harness.Supervisor
	redis   *harness.PrivateRedis
	catalog []chaosProduct
	orders  []*chaosOrder
	// customers holds each customer's Authorization header (by customer id), admin an operator's: every
	// client calls orders as its own customer, as in production, and the checks read each order as its owner.
	customers map[string]map[string]string
	admin     map[string]string
}

// authorize mints a token for every client's customer and an operator, before the load: the issuer is not
// among the processes the faults kill, but minting them up front keeps the clients' timing the load's.
func (r *chaosRun) authorize(t *testing.T) {
	t.Helper()
	r.customers = map[string]map[string]string{}
	for c := range r.cfg.clients {
		r.customers[chaosCustomer(c)] = r.sys.Bearer(t, chaosCustomer(c))
	}
	r.admin = r.sys.Bearer(t, harness.DefaultOperator, harness.AdminRole)
}

// ownerAuth is the Authorization header of the customer who placed order id: its client's, or — for an
// order only the spy saw announced — the customer its order.placed names.
func (r *chaosRun) ownerAuth(id string) map[string]string {
	for _, o := range r.orders {
		if slices.Contains(o.ids, id) {
			return r.customers[chaosCustomer(o.client)]
		}
	}
	for _, raw := range r.sys.Spy.Received("order.placed") {
		var e harness.Envelope
		var d struct {
			CustomerID string `json:"customerId"`
		}
		if json.Unmarshal(raw, &e) == nil && e.Subject == id && json.Unmarshal(e.Data, &d) == nil {
			return r.customers[d.CustomerID]
		}
	}
	return nil
}

type chaosProduct struct {
	sku        string
	priceCents int64
	initial    int
}

// chaosCatalog stocks two SKUs that never run out and one that sells out: about a tenth of the orders want
// it, and there is stock for about a third of them.
func chaosCatalog(cfg chaosConfig) []chaosProduct {
	return []chaosProduct{
		{"CHAOS-A", 500, cfg.orders * 4},
		{"CHAOS-B", 1250, cfg.orders * 4},
		{"CHAOS-SCARCE", 9900, max(3, cfg.orders/30)},
	}
}

func chaosPutProduct(t *testing.T, sys *harness.System, p chaosProduct) {
	t.Helper()
	r := harness.Do(t, http.MethodPut, sys.App(t, "inventory").URL()+"/v1/products/"+p.sku,
		map[string]any{"name": "Chaos " + p.sku, "priceCents": p.priceCents, "available": p.initial}, nil)
	require.Contains(t, []int{http.StatusOK, http.StatusCreated}, r.Status, string(r.Body))
}

// chaosSupportedTokens drops the slow-approval tokens the simulator does not know yet (an unknown token is a
// plain decline), saying so: it asks the simulator with one probe charge per token, under a key no order uses.
func chaosSupportedTokens(t *testing.T, cardsim string, tokens []chaosToken) []chaosToken {
	t.Helper()
	known := map[string]bool{}
	for _, tok := range chaosSlowTokens {
		// tok_approve_drop drops the connection and tok_slow_approve answers late, so the probe does not wait
		// for the answer: it asks the ledger what was decided under its key.
		key := "chaos-probe-" + tok
		_ = chaosPostJSON(cardsim+"/v1/charges", map[string]any{"idempotencyKey": key, "amountCents": 100, "currency": "EUR", "cardToken": tok},
			map[string]string{"Authorization": "Bearer " + chaosProviderKey}, 200*time.Millisecond)
		require.Eventually(t, func() bool {
			c, found, err := chaosProviderCharge(cardsim, key)
			if err == nil && found && c.Status != "" {
				known[tok] = c.Status == "succeeded"
				return true
			}
			return false
		}, 10*time.Second, 50*time.Millisecond, "the simulator decided the probe charge with %s", tok)
	}
	var out []chaosToken
	for _, tok := range tokens {
		if ok, probed := known[tok.token]; probed && !ok {
			t.Logf("chaos: cardsim does not know %s yet (it declines it as an unknown token): left out of the mix", tok.token)
			continue
		}
		out = append(out, tok)
	}
	return out
}
