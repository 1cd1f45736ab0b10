// Package eventstest provides an in-memory publisher for domain unit tests.
package eventstest

import (
	"context"
	"sync"

	"orderflow/internal/events"
)

// Publisher records published events and can be told to fail.
type Publisher struct {
	mu       sync.Mutex
	events   []events.Event
	failNext error
}

// Publish implements the domains' Publisher ports.
func (p *Publisher) Publish(_ context.Context, evs ...events.Event) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.failNext; err != nil {
		p.failNext = nil
		return err
	}
	p.events = append(p.events, evs...)
	return nil
}

// FailNext makes the next Publish fail with err.
func (p *Publisher) FailNext(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.failNext = err
}

// Events returns what was published, in order.
func (p *Publisher) Events() []events.Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]events.Event(nil), p.events...)
}

// Of returns the published events of kind k.
func (p *Publisher) Of(k events.Kind) []events.Event {
	var out []events.Event
	for _, e := range p.Events() {
		if e.Kind == k {
			out = append(out, e)
		}
	}
	return out
}
