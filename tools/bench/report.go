package main

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"orderflow/internal/loadgen"
)

// Targets are the figures the issue sets for this machine.
const (
	targetRatio      = 0.70
	targetP99Shipped = 250 * time.Millisecond
	targetAppRSSMB   = 40.0
)

type report struct {
	Machine              string              `json:"machine"`
	Started              time.Time           `json:"started"`
	Finished             time.Time           `json:"finished"`
	Ceiling              ceiling             `json:"ceiling"`
	Max                  loadgen.Result      `json:"maxThroughput"`
	SagaDeliveries       float64             `json:"sagaDeliveries"`
	SagaDeliveriesPerSec float64             `json:"sagaDeliveriesPerSecond"`
	RatioToCeiling       float64             `json:"ratioToCeiling"`
	Half                 loadgen.Result      `json:"halfRate"`
	Usage                map[string]appUsage `json:"usageDuringMaxThroughput"`
	RedisCPU             float64             `json:"redisCpuSecondsDuringMaxThroughput"`
	// CPUPerOrderMs is the CPU the apps, sidecars and Redis spent per completed order in (b): unlike
	// throughput, it hardly depends on what else the machine is doing, so it is what to compare across runs.
	CPUPerOrderMs float64             `json:"cpuMsPerOrder"`
	LoadgenCPU    float64             `json:"loadgenCpuSecondsDuringMaxThroughput"`
	Peak          map[string]appUsage `json:"peakAfterAllPhases"`
	Targets       targets             `json:"targets"`
}

type target struct {
	Name string `json:"name"`
	Want string `json:"want"`
	Got  string `json:"got"`
	Met  bool   `json:"met"`
}

type targets []target

func (ts targets) failed() []string {
	var out []string
	for _, t := range ts {
		if !t.Met {
			out = append(out, fmt.Sprintf("%s (want %s, got %s)", t.Name, t.Want, t.Got))
		}
	}
	return out
}

func checkTargets(r report) targets {
	maxRSS, maxApp := 0.0, ""
	for name, u := range r.Peak {
		if u.App.PeakRSSMB > maxRSS {
			maxRSS, maxApp = u.App.PeakRSSMB, name
		}
	}
	errs := r.Max.PlaceErrors + r.Half.PlaceErrors
	stuck := r.Max.Stuck + r.Half.Stuck
	return targets{
		{"saga deliveries vs ceiling", fmt.Sprintf("≥ %.0f%%", 100*targetRatio), fmt.Sprintf("%.0f%%", 100*r.RatioToCeiling), r.RatioToCeiling >= targetRatio},
		{"p99 placed→SHIPPED at half rate", "< " + targetP99Shipped.String(), ms(r.Half.ToShipped.P99), r.Half.ToShipped.P99 < targetP99Shipped && r.Half.ToShipped.P99 > 0},
		{"app RSS", fmt.Sprintf("< %.0f MB each", targetAppRSSMB), fmt.Sprintf("%.1f MB (%s)", maxRSS, maxApp), maxRSS < targetAppRSSMB},
		{"errors", "0", fmt.Sprint(errs), errs == 0},
		{"stuck orders", "0", fmt.Sprint(stuck), stuck == 0},
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

func (r report) table() string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "orderflow benchmark — %s\n\n", r.Machine)
	fmt.Fprintf(w, "phase\tthroughput\tdeliveries/s\tp50\tp90\tp99\tmax\terrors\tstuck\n")
	fmt.Fprintf(w, "(a) bare Dapr hop, %d publishers\t%.0f publishes/s\t%.0f\t\t\t\t\t\t\n", r.Ceiling.Publishers, r.Ceiling.PublishesPerSec, r.Ceiling.DeliveriesPerSec)
	phase := func(name string, res loadgen.Result, deliveries string) {
		fmt.Fprintf(w, "%s\t%.1f orders/s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\n", name, res.OrdersPerSec, deliveries,
			ms(res.ToTerminal.P50), ms(res.ToTerminal.P90), ms(res.ToTerminal.P99), ms(res.ToTerminal.Max), res.PlaceErrors, res.Stuck)
	}
	phase(fmt.Sprintf("(b) saga, max (%d orders) placed→terminal", r.Max.Placed), r.Max,
		fmt.Sprintf("%.0f (%.0f%% of (a))", r.SagaDeliveriesPerSec, 100*r.RatioToCeiling))
	phase(fmt.Sprintf("(c) saga at %.1f orders/s placed→terminal", r.Half.TargetRate), r.Half, "")
	fmt.Fprintf(w, "(c) placed→SHIPPED\t\t\t%s\t%s\t%s\t%s\t\t\n", ms(r.Half.ToShipped.P50), ms(r.Half.ToShipped.P90), ms(r.Half.ToShipped.P99), ms(r.Half.ToShipped.Max))
	for _, st := range []string{"RESERVED", "PAID", "SHIPPED", "REJECTED", "PAYMENT_FAILED"} {
		if p, ok := r.Half.Stages[st]; ok {
			fmt.Fprintf(w, "(c)   step to %s\t\t\t%s\t%s\t%s\t%s\t\t\n", st, ms(p.P50), ms(p.P90), ms(p.P99), ms(p.Max))
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "outcomes (b)\t%s\n", outcomes(r.Max.Outcomes))
	fmt.Fprintf(w, "outcomes (c)\t%s\n", outcomes(r.Half.Outcomes))
	fmt.Fprintln(w)
	fmt.Fprintf(w, "process\tCPU s during (b)\tpeak RSS\tsidecar CPU s during (b)\tsidecar peak RSS\n")
	names := slices.Sorted(maps.Keys(r.Peak))
	var appCPU, carCPU float64
	for _, n := range names {
		u, p := r.Usage[n], r.Peak[n]
		appCPU += u.App.CPUSeconds
		carCPU += u.Sidecar.CPUSeconds
		fmt.Fprintf(w, "%s\t%.1f\t%.1f MB\t%.1f\t%.1f MB\n", n, u.App.CPUSeconds, p.App.PeakRSSMB, u.Sidecar.CPUSeconds, p.Sidecar.PeakRSSMB)
	}
	fmt.Fprintf(w, "total\t%.1f\t\t%.1f\t\n", appCPU, carCPU)
	fmt.Fprintf(w, "redis\t%.1f\t\t\t\n", r.RedisCPU)
	fmt.Fprintf(w, "load generator\t%.1f\t\t\t\n", r.LoadgenCPU)
	fmt.Fprintf(w, "CPU per order (apps + sidecars + Redis)\t%.2f ms\t\t\t\n", r.CPUPerOrderMs)
	fmt.Fprintln(w)
	fmt.Fprintf(w, "target\twant\tgot\tmet\n")
	for _, t := range r.Targets {
		fmt.Fprintf(w, "%s\t%s\t%s\t%v\n", t.Name, t.Want, t.Got, t.Met)
	}
	_ = w.Flush()
	return b.String()
}

func outcomes(m map[string]int) string {
	keys := slices.Sorted(maps.Keys(m))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

// latencyChart draws the placed→SHIPPED latency distribution (CDF) of both saga phases as SVG, on a
// logarithmic time axis so the millisecond latencies at half rate and the queueing at maximum throughput
// both stay readable.
func latencyChart(half, max []time.Duration) string {
	const width, height, left, bottom, top, right = 760, 420, 70, 50, 40, 30
	series := []struct {
		name, color string
		data        []time.Duration
	}{{"half rate (c)", "#1f77b4", half}, {"maximum throughput (b)", "#d62728", max}}
	lo, hi := 1.0, 10.0 // milliseconds
	for _, s := range series {
		for _, d := range s.data {
			hi = math.Max(hi, float64(d.Microseconds())/1000)
		}
	}
	hi = niceCeil(hi)
	x := func(v float64) float64 {
		v = math.Min(math.Max(v, lo), hi)
		return left + (width-left-right)*math.Log10(v/lo)/math.Log10(hi/lo)
	}
	y := func(q float64) float64 { return height - bottom - (height-bottom-top)*q }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n", width, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/><text x="%d" y="22" font-size="15">orderflow: placed → SHIPPED latency (CDF)</text>`+"\n", left)
	for decade := lo; decade <= hi; decade *= 10 {
		for _, m := range []float64{1, 2, 5} {
			v := decade * m
			if v > hi {
				break
			}
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd"/><text x="%.1f" y="%d" text-anchor="middle">%g</text>`+"\n",
				x(v), top, x(v), height-bottom, x(v), height-bottom+16, v)
		}
	}
	for _, q := range []float64{0, 0.5, 0.9, 0.99, 1} {
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/><text x="%d" y="%.1f" text-anchor="end">p%g</text>`+"\n",
			left, y(q), width-right, y(q), left-6, y(q)+4, q*100)
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">milliseconds (log scale)</text>`+"\n", (width+left)/2, height-12)
	for i, s := range series {
		if len(s.data) == 0 {
			continue
		}
		sorted := slices.Clone(s.data)
		slices.Sort(sorted)
		var pts []string
		for j, d := range sorted {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(float64(d.Microseconds())/1000), y(float64(j+1)/float64(len(sorted)))))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`+"\n", s.color, strings.Join(pts, " "))
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="14" height="3" fill="%s"/><text x="%d" y="%d">%s (%d orders)</text>`+"\n",
			left+10, top+10+i*18, s.color, left+30, top+15+i*18, s.name, len(s.data))
	}
	b.WriteString("</svg>\n")
	return b.String()
}

func niceCeil(v float64) float64 {
	mag := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if v <= m*mag {
			return m * mag
		}
	}
	return 10 * mag
}
