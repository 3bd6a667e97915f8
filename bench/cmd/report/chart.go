package main

import (
	"fmt"
	"math"
	"strings"

	"github.com/firestore-sessions/sessions/bench/internal/load"
)

// chartSVG draws two panels of grouped bars, req/s and p99 latency, one
// group per scenario and one bar per target, on logarithmic axes (the
// figures span four orders of magnitude), with each bar's value written
// above it.
func chartSVG(sums []*load.Summary, scenarios []load.Scenario, targets []string) string {
	const (
		panelW, panelH = 420.0, 300.0
		left, top      = 58.0, 48.0
		gap            = 70.0
		bottom         = 64.0
	)
	colors := []string{"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"}
	width := left + 2*panelW + gap + 20
	height := top + panelH + bottom + 28
	var b strings.Builder
	svgStart(&b, width, height)

	panels := []struct {
		title string
		value func(*load.Summary) float64
		unit  string
	}{
		{"Throughput, req/s (log scale, higher is better)", func(s *load.Summary) float64 { return s.ReqPerSec }, "req/s"},
		{"p99 latency, ms (log scale, lower is better)", func(s *load.Summary) float64 { return s.P99ms }, "ms"},
	}
	for pi, p := range panels {
		x0 := left + float64(pi)*(panelW+gap)
		y0 := top
		// Axis range: whole decades around the data.
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, s := range sums {
			if v := p.value(s); v > 0 {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
		if math.IsInf(lo, 1) {
			lo, hi = 1, 10
		}
		dLo, dHi := math.Floor(math.Log10(lo)), math.Ceil(math.Log10(hi)+0.15)
		if dHi <= dLo {
			dHi = dLo + 1
		}
		y := func(v float64) float64 {
			if v <= 0 {
				return y0 + panelH
			}
			f := (math.Log10(v) - dLo) / (dHi - dLo)
			return y0 + panelH - math.Max(0, math.Min(1, f))*panelH
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="14" font-weight="bold">%s</text>`+"\n", x0, y0-22, p.title)
		for d := dLo; d <= dHi; d++ {
			v := math.Pow(10, d)
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", x0, y(v), x0+panelW, y(v))
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="end" fill="#555">%s</text>`+"\n", x0-6, y(v)+4, tick(v))
		}
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#333"/>`+"\n", x0, y0+panelH, x0+panelW, y0+panelH)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#333"/>`+"\n", x0, y0, x0, y0+panelH)

		groupW := panelW / float64(len(scenarios))
		barW := groupW * 0.7 / float64(len(targets))
		for gi, sc := range scenarios {
			gx := x0 + float64(gi)*groupW + groupW*0.15
			for ti, t := range targets {
				s := load.Find(sums, sc.Name, t)
				if s == nil {
					continue
				}
				v := p.value(s)
				bx := gx + float64(ti)*barW
				by := y(v)
				fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s, %s: %s %s</title></rect>`+"\n",
					bx+1, by, barW-2, y0+panelH-by, colors[ti%len(colors)], t, sc.Title, num(v), p.unit)
				fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle" font-size="10">%s</text>`+"\n", bx+barW/2, by-3, num(v))
			}
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", x0+float64(gi)*groupW+groupW/2, y0+panelH+16, sc.Name)
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle" font-size="10" fill="#555">%s</text>`+"\n", x0+float64(gi)*groupW+groupW/2, y0+panelH+30, sc.Title)
		}
	}
	// Legend.
	lx := left
	ly := top + panelH + bottom
	for ti, t := range targets {
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="12" height="12" fill="%s"/>`+"\n", lx, ly, colors[ti%len(colors)])
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f">%s</text>`+"\n", lx+16, ly+10, legend(t))
		lx += 16 + 8*float64(len(legend(t))) + 24
	}
	b.WriteString("</svg>\n")
	return b.String()
}

// svgStart opens an SVG document of width × height on a white background.
func svgStart(b *strings.Builder, width, height float64) {
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="sans-serif" font-size="12">`+"\n", width, height, width, height)
	fmt.Fprintf(b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
}

func legend(target string) string {
	switch target {
	case load.Greeter:
		return "greeter (this library)"
	case load.Tutorial:
		return "tutorial port (RunTransaction per request)"
	}
	return target
}

// tick formats an axis value (a power of ten).
func tick(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%gM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%gk", v/1e3)
	}
	return fmt.Sprintf("%g", v)
}

// num formats a measured value with about three significant digits.
func num(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}
