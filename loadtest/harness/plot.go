package harness

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
)

// targetColors are the bar colours of the plot, by target.
var targetColors = map[Target]color.RGBA{
	TargetDirect:         {0x88, 0x88, 0x88, 0xff},
	TargetFloor:          {0x3b, 0x75, 0xaf, 0xff},
	TargetSwitchyard:     {0xef, 0x85, 0x36, 0xff},
	TargetSwitchyardHTTP: {0xf5, 0xc0, 0x7a, 0xff},
	TargetPeer:           {0x51, 0x9e, 0x3e, 0xff},
}

var plotTargets = []Target{TargetDirect, TargetFloor, TargetSwitchyard, TargetSwitchyardHTTP, TargetPeer}

// PlotLatency draws a log-scale bar chart of the p50 latency (bars) and p99
// (black ticks) of the request scenarios, and the TTFT of streams, per target.
func PlotLatency(w io.Writer, scenarios []Scenario, aggs []Agg) error {
	const W, H, left, right, top, bottom = 1000, 460, 70, 20, 50, 70
	img := image.NewRGBA(image.Rect(0, 0, W, H))
	fill(img, img.Bounds(), color.White)
	black := color.RGBA{0, 0, 0, 0xff}
	grid := color.RGBA{0xdd, 0xdd, 0xdd, 0xff}
	drawText(img, left, 12, 3, "LATENCY P50 (BAR) AND P99 (TICK), MS, LOG SCALE; STREAM = TTFT", black)

	names := []string{"passthrough", "latency-c1", "rate-1k", "rate-5k", "stream", "policy", "translation", "body-256k"}
	var groups []string
	for _, n := range names {
		for _, a := range aggs {
			if a.Scenario == n {
				groups = append(groups, n)
				break
			}
		}
	}
	const lo, hi = -2.0, 4.0 // 0.01 ms .. 10 s
	plotH := H - top - bottom
	yOf := func(ms float64) int {
		if ms <= 0 {
			return H - bottom
		}
		v := (math.Log10(ms) - lo) / (hi - lo)
		v = math.Max(0, math.Min(1, v))
		return H - bottom - int(v*float64(plotH))
	}
	for e := lo; e <= hi; e++ {
		y := yOf(math.Pow(10, e))
		fill(img, image.Rect(left, y, W-right, y+1), grid)
		label := fmt.Sprintf("%g", math.Pow(10, e))
		drawText(img, left-8-textWidth(label, 2), y-5, 2, label, black)
	}
	fill(img, image.Rect(left, top, left+1, H-bottom), black)
	fill(img, image.Rect(left, H-bottom, W-right, H-bottom+1), black)
	if len(groups) > 0 {
		gw := (W - left - right) / len(groups)
		barW := (gw - 16) / len(plotTargets)
		for gi, g := range groups {
			x0 := left + gi*gw + 8
			stream := false
			for _, s := range scenarios {
				if s.Name == g {
					stream = s.Load.Stream
				}
			}
			for ti, t := range plotTargets {
				a, ok := find(aggs, g, t)
				if !ok {
					continue
				}
				p50, p99 := a.P50, a.P99
				if stream {
					p50, p99 = a.TTFT, 0
				}
				x := x0 + ti*barW
				fill(img, image.Rect(x+1, yOf(p50), x+barW-1, H-bottom), targetColors[t])
				if p99 > 0 {
					y := yOf(p99)
					fill(img, image.Rect(x+1, y-1, x+barW-1, y+2), black)
				}
			}
			label := g
			if stream {
				label += " ttft"
			}
			drawText(img, x0+(gw-16-textWidth(label, 2))/2, H-bottom+10, 2, label, black)
		}
	}
	lx := left
	for _, t := range plotTargets {
		fill(img, image.Rect(lx, H-28, lx+14, H-14), targetColors[t])
		drawText(img, lx+20, H-26, 2, string(t), black)
		lx += 40 + textWidth(string(t), 2)
	}
	if err := png.Encode(w, img); err != nil {
		return fmt.Errorf("harness: encode plot: %w", err)
	}
	return nil
}
