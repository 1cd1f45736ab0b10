package tests

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"orderflow/tests/harness"
)

// chaosKill is one SIGKILL and how the supervisor brought the process back.
type chaosKill struct {
	app  string
	part harness.Part
	at   time.Time
	// restart is the supervisor's restart of the killed process (zero StartedAt: none seen); err says why the
	// kill or the wait for the pod failed.
	restart harness.Restart
	// restarts counts the processes the supervisor started before one stayed up (more than one: a crash loop).
	restarts int
	err      error
}

func (k chaosKill) String() string {
	return fmt.Sprintf("%s %s @%s", k.app, k.part, k.at.Format("15:04:05.000"))
}

// chaosFaultReport is what the injectors did.
type chaosFaultReport struct {
	kills []chaosKill
	// paused are the [from, to] windows Redis was stopped.
	paused                   [][2]time.Time
	pauseErrs                []error
	duplicates, duplicatesOK int
}

type chaosFaults struct {
	wg     sync.WaitGroup
	mu     sync.Mutex
	report chaosFaultReport
}

func (f *chaosFaults) wait() chaosFaultReport {
	f.wg.Wait()
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.report
}

// chaosDuplicateTopics are the events re-published as concurrent duplicates: every step of the saga.
var chaosDuplicateTopics = []string{
	"order.placed", "stock.reserved", "stock.rejected", "payment.succeeded", "payment.failed",
	"shipment.dispatched", "order.cancelled",
}

// injectFaults starts the three injectors — kills, Redis pauses, duplicate deliveries — each with its own
// random source drawn from rng, so one seed fixes the whole schedule.
func (r *chaosRun) injectFaults(ctx context.Context, rng *rand.Rand, until time.Time) *chaosFaults {
	f := &chaosFaults{}
	start := time.Now()
	for _, inject := range []func(context.Context, *rand.Rand, time.Time, time.Time, *chaosFaults){r.kill, r.pauseRedis, r.duplicate} {
		f.wg.Add(1)
		src := rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64()))
		go func() {
			defer f.wg.Done()
			inject(ctx, src, start, until, f)
		}()
	}
	return f
}

// kill SIGKILLs cfg.minKills processes spread over the fault phase, cycling through every (service, app or
// sidecar) pair in a shuffled order. Each kill waits until everything is back before the next, so every
// recovery is measured on its own.
func (r *chaosRun) kill(ctx context.Context, rng *rand.Rand, start, until time.Time, f *chaosFaults) {
	type victim struct {
		app  string
		part harness.Part
	}
	var victims []victim
	for _, app := range chaosServices {
		victims = append(victims, victim{app, harness.AppProcess}, victim{app, harness.Sidecar})
	}
	rng.Shuffle(len(victims), func(i, j int) { victims[i], victims[j] = victims[j], victims[i] })
	interval := until.Sub(start) / time.Duration(r.cfg.minKills+1)
	for i := 0; i < r.cfg.minKills; i++ {
		if !chaosSleepUntil(ctx, start.Add(time.Duration(i+1)*interval)) {
			return
		}
		v := victims[i%len(victims)]
		k := chaosKill{app: v.app, part: v.part}
		k.at, k.err = r.sv.Kill(v.app, v.part)
		if k.err == nil {
			k.restart, k.restarts, k.err = r.awaitRestart(ctx, k)
		}
		f.mu.Lock()
		f.report.kills = append(f.report.kills, k)
		f.mu.Unlock()
	}
}

// awaitRestart waits for the supervisor to restart the killed process and for every pod to be ready again.
// It returns the first restart after the kill, with the time the pod was ready again: when the first new
// process died too (a crash loop), recovery is still counted from the first restart.
func (r *chaosRun) awaitRestart(ctx context.Context, k chaosKill) (harness.Restart, int, error) {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var first harness.Restart
		n := 0
		for _, rs := range r.sv.Restarts() {
			if rs.App != k.app || rs.Part != k.part || rs.DiedAt.Before(k.at) {
				continue
			}
			if n++; n == 1 {
				first = rs
			}
			if !rs.ReadyAt.IsZero() {
				first.ReadyAt = rs.ReadyAt
				return first, n, r.sv.AwaitReady(ctx, time.Until(deadline))
			}
		}
		if time.Now().After(deadline) {
			return harness.Restart{}, n, fmt.Errorf("%s was not restarted and ready within 2m", k)
		}
		if !chaosSleepUntil(ctx, time.Now().Add(50*time.Millisecond)) {
			return harness.Restart{}, n, ctx.Err()
		}
	}
}

// pauseRedis freezes the private Redis (SIGSTOP) for 2–5 s, cfg.redisPauses times at random moments of the
// fault phase. The pause durations are the only sleeps of the suite that do not wait for a condition: they
// are the fault.
func (r *chaosRun) pauseRedis(ctx context.Context, rng *rand.Rand, start, until time.Time, f *chaosFaults) {
	phase := until.Sub(start)
	offsets := make([]time.Duration, r.cfg.redisPauses)
	for i := range offsets {
		offsets[i] = phase/20 + time.Duration(rng.Int64N(int64(phase*17/20)))
	}
	slices.Sort(offsets)
	for _, off := range offsets {
		if !chaosSleepUntil(ctx, start.Add(off)) {
			return
		}
		d := 2*time.Second + time.Duration(rng.Int64N(int64(3*time.Second)))
		from := time.Now()
		if err := r.redis.Pause(); err != nil {
			f.mu.Lock()
			f.report.pauseErrs = append(f.report.pauseErrs, err)
			f.mu.Unlock()
			continue
		}
		chaosSleepUntil(ctx, time.Now().Add(d))
		err := r.redis.Resume()
		f.mu.Lock()
		f.report.paused = append(f.report.paused, [2]time.Time{from, time.Now()})
		if err != nil {
			f.report.pauseErrs = append(f.report.pauseErrs, err)
		}
		f.mu.Unlock()
	}
}

// duplicate re-publishes, through the spy's sidecar, a copy of an event the services already published —
// twice, concurrently — cfg.duplicates times over the fault phase.
func (r *chaosRun) duplicate(ctx context.Context, rng *rand.Rand, start, until time.Time, f *chaosFaults) {
	interval := until.Sub(start) / time.Duration(r.cfg.duplicates+1)
	for i := 0; i < r.cfg.duplicates; i++ {
		if !chaosSleepUntil(ctx, start.Add(time.Duration(i+1)*interval)) {
			return
		}
		topic := chaosDuplicateTopics[rng.IntN(len(chaosDuplicateTopics))]
		seen := r.sys.Spy.Received(topic)
		if len(seen) == 0 {
			continue // nothing of that kind yet
		}
		raw := seen[rng.IntN(len(seen))]
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for j := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[j] = r.sys.Spy.TryPublish(topic, raw)
			}()
		}
		wg.Wait()
		f.mu.Lock()
		f.report.duplicates += 2
		for _, err := range errs {
			if err == nil {
				f.report.duplicatesOK++
			}
		}
		f.mu.Unlock()
	}
}
