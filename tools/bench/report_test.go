package main

import (
	"encoding/xml"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orderflow/internal/loadgen"
)

func TestLatencyChartIsWellFormedSVG(t *testing.T) {
	t.Parallel()
	var half, max []time.Duration
	for i := 1; i <= 200; i++ {
		half = append(half, time.Duration(i)*100*time.Microsecond)
		max = append(max, time.Duration(i)*50*time.Millisecond)
	}
	svg := latencyChart(half, max)
	dec := xml.NewDecoder(strings.NewReader(svg))
	polylines := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			require.ErrorContains(t, err, "EOF")
			break
		}
		if el, ok := tok.(xml.StartElement); ok && el.Name.Local == "polyline" {
			polylines++
		}
	}
	assert.Equal(t, 2, polylines)
	assert.Contains(t, svg, "half rate (c) (200 orders)")
}

func TestTargets(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(r *report)
		failed []string
	}{
		{"all met", func(*report) {}, nil},
		{"low ratio", func(r *report) { r.RatioToCeiling = 0.5 }, []string{"saga deliveries vs ceiling"}},
		{"slow tail", func(r *report) { r.Half.ToShipped.P99 = 300 * time.Millisecond }, []string{"p99 placed→SHIPPED at half rate"}},
		{"fat app", func(r *report) { r.Peak["orders"] = appUsage{App: proc{PeakRSSMB: 41}} }, []string{"app RSS"}},
		{"stuck orders", func(r *report) { r.Half.Stuck = 2 }, []string{"stuck orders"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := report{
				RatioToCeiling: 0.8,
				Half:           loadgen.Result{ToShipped: loadgen.Percentiles{P99: 100 * time.Millisecond}},
				Peak:           map[string]appUsage{"orders": {App: proc{PeakRSSMB: 30}}},
			}
			tc.mutate(&r)
			var failed []string
			for _, f := range checkTargets(r) {
				if !f.Met {
					failed = append(failed, f.Name)
				}
			}
			assert.Equal(t, tc.failed, failed)
		})
	}
}
