package board

import (
	"sync"
	"time"

	"orderflow/internal/events"
)

// MeterWindow is the span the throughput counters cover.
const MeterWindow = time.Minute

// Throughput is what the console received in the last MeterWindow: all events, placements, and orders that
// reached each outcome. The counts are this process's, since its start: they are live figures, not totals.
type Throughput struct {
	Window   time.Duration
	Events   int
	Placed   int
	Outcomes map[Status]int
}

// EventsPerSecond is the average event rate over the window.
func (t Throughput) EventsPerSecond() float64 { return float64(t.Events) / t.Window.Seconds() }

// meter counts per second in a ring of MeterWindow buckets, so its memory is fixed.
type meter struct {
	mu      sync.Mutex
	now     func() time.Time
	buckets [60]bucket
}

type bucket struct {
	second   int64
	events   int
	placed   int
	outcomes map[Status]int
}

func newMeter(now func() time.Time) *meter { return &meter{now: now} }

// count records an applied event of kind k that moved an order from status before to after. An outcome is
// counted when an order becomes terminal, which happens once per order: a status never leaves the terminal
// ones (a terminal status can give way only to the one orders announced, see rank).
func (m *meter) count(k events.Kind, before, after Status) {
	m.mu.Lock()
	defer m.mu.Unlock()
	sec := m.now().Unix()
	b := &m.buckets[sec%int64(len(m.buckets))]
	if b.second != sec {
		*b = bucket{second: sec}
	}
	b.events++
	if k == events.OrderPlaced {
		b.placed++
	}
	if !before.Terminal() && after.Terminal() {
		if b.outcomes == nil {
			b.outcomes = map[Status]int{}
		}
		b.outcomes[after]++
	}
}

func (m *meter) rates() Throughput {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now().Unix()
	t := Throughput{Window: MeterWindow, Outcomes: map[Status]int{}}
	for _, b := range m.buckets {
		if now-b.second >= int64(len(m.buckets)) || b.second > now {
			continue
		}
		t.Events += b.events
		t.Placed += b.placed
		for s, n := range b.outcomes {
			t.Outcomes[s] += n
		}
	}
	return t
}
