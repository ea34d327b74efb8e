package timeline

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Point is one observation.
type Point struct {
	At               time.Duration
	OfferedQPS       float64
	PerPodQPS        float64 // as the adapter serves it (NaN: unknown)
	Desired, Current int
	ServingPods      int
}

// Run is one recorded run.
type Run struct {
	Name string
	mu   sync.Mutex
	pts  []Point
}

// Add records p.
func (r *Run) Add(p Point) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pts = append(r.pts, p)
}

// Points returns a copy of the points.
func (r *Run) Points() []Point {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Point(nil), r.pts...)
}

// FirstAt returns when cond first held, or -1.
func (r *Run) FirstAt(cond func(Point) bool) time.Duration {
	for _, p := range r.Points() {
		if cond(p) {
			return p.At
		}
	}
	return -1
}

// WriteCSV writes every run's points: run,seconds,offered_qps,per_pod_qps,desired,current,serving.
func WriteCSV(w io.Writer, runs ...*Run) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"run", "seconds", "offered_qps", "per_pod_qps", "desired_replicas", "current_replicas", "serving_pods"})
	for _, r := range runs {
		for _, p := range r.Points() {
			per := ""
			if !math.IsNaN(p.PerPodQPS) {
				per = strconv.FormatFloat(p.PerPodQPS, 'f', 2, 64)
			}
			_ = cw.Write([]string{r.Name, strconv.FormatFloat(p.At.Seconds(), 'f', 1, 64),
				strconv.FormatFloat(p.OfferedQPS, 'f', 1, 64), per,
				strconv.Itoa(p.Desired), strconv.Itoa(p.Current), strconv.Itoa(p.ServingPods)})
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteSVG draws the runs: QPS on the left axis (offered, and per pod),
// replicas on the right axis, one panel per run, side by side.
func WriteSVG(w io.Writer, title string, target float64, runs ...*Run) error {
	const pw, ph, ml, mr, mt, mb = 520.0, 300.0, 55.0, 45.0, 50.0, 45.0
	width := float64(len(runs))*(pw+ml+mr) + 10
	height := ph + mt + mb + 30
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" font-family="sans-serif" font-size="12">`+"\n", width, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/><text x="10" y="20" font-size="15" font-weight="bold">%s</text>`+"\n", esc(title))
	for i, r := range runs {
		pts := r.Points()
		x0 := 10 + float64(i)*(pw+ml+mr) + ml
		y0 := mt
		maxT, maxQ, maxR := 1.0, target*1.2, 4.0
		for _, p := range pts {
			maxT = math.Max(maxT, p.At.Seconds())
			maxQ = math.Max(maxQ, p.OfferedQPS)
			if !math.IsNaN(p.PerPodQPS) {
				maxQ = math.Max(maxQ, p.PerPodQPS)
			}
			maxR = math.Max(maxR, float64(max(p.Desired, p.Current)+1))
		}
		maxQ = math.Ceil(maxQ/20) * 20
		X := func(t float64) float64 { return x0 + t/maxT*pw }
		YQ := func(q float64) float64 { return y0 + ph - q/maxQ*ph }
		YR := func(n float64) float64 { return y0 + ph - n/maxR*ph }
		fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" font-weight="bold">%s</text>`+"\n", x0, y0-12, esc(r.Name))
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="#444"/>`+"\n", x0, y0, pw, ph)
		for q := 0.0; q <= maxQ; q += maxQ / 5 { // QPS grid and left labels
			fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#ddd"/><text x="%.1f" y="%.1f" text-anchor="end">%.0f</text>`+"\n", x0, x0+pw, YQ(q), YQ(q), x0-5, YQ(q)+4, q)
		}
		for n := 0.0; n <= maxR; n++ { // replica labels on the right
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f">%.0f</text>`+"\n", x0+pw+5, YR(n)+4, n)
		}
		for s := 0.0; s <= maxT; s += niceStep(maxT) {
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%.0f</text>`+"\n", X(s), y0+ph+15, s)
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">seconds</text>`+"\n", x0+pw/2, y0+ph+32)
		fmt.Fprintf(&b, `<text transform="translate(%.1f,%.1f) rotate(-90)" text-anchor="middle">QPS</text>`+"\n", x0-40, y0+ph/2)
		fmt.Fprintf(&b, `<text transform="translate(%.1f,%.1f) rotate(90)" text-anchor="middle">replicas</text>`+"\n", x0+pw+30, y0+ph/2)
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#c00" stroke-dasharray="4 3"/>`+"\n", x0, x0+pw, YQ(target), YQ(target))
		line := func(color string, dash string, f func(Point) (float64, bool)) {
			var d strings.Builder
			pen := "M"
			for _, p := range pts {
				y, ok := f(p)
				if !ok {
					pen = "M"
					continue
				}
				fmt.Fprintf(&d, "%s%.1f,%.1f ", pen, X(p.At.Seconds()), y)
				pen = "L"
			}
			fmt.Fprintf(&b, `<path d="%s" fill="none" stroke="%s" stroke-width="2" stroke-dasharray="%s"/>`+"\n", d.String(), color, dash)
		}
		line("#1f77b4", "", func(p Point) (float64, bool) { return YQ(p.OfferedQPS), true })
		line("#2ca02c", "", func(p Point) (float64, bool) { return YQ(p.PerPodQPS), !math.IsNaN(p.PerPodQPS) })
		stepped := func(color string, v func(Point) int) { // replicas change in steps
			var d strings.Builder
			for j, p := range pts {
				if j == 0 {
					fmt.Fprintf(&d, "M%.1f,%.1f ", X(p.At.Seconds()), YR(float64(v(p))))
					continue
				}
				fmt.Fprintf(&d, "L%.1f,%.1f L%.1f,%.1f ", X(p.At.Seconds()), YR(float64(v(pts[j-1]))), X(p.At.Seconds()), YR(float64(v(p))))
			}
			fmt.Fprintf(&b, `<path d="%s" fill="none" stroke="%s" stroke-width="2.5"/>`+"\n", d.String(), color)
		}
		stepped("#ff7f0e", func(p Point) int { return p.Current })
		stepped("#9467bd", func(p Point) int { return p.ServingPods })
		// Legend.
		ly := y0 + ph + 45
		lx := x0
		for _, l := range []struct{ color, text string }{{"#1f77b4", "offered QPS"}, {"#2ca02c", "per pod, as the HPA reads it"}, {"#c00", fmt.Sprintf("target %.0f/pod", target)}, {"#ff7f0e", "replicas"}, {"#9467bd", "pods serving"}} {
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="12" height="4" fill="%s"/><text x="%.1f" y="%.1f" font-size="11">%s</text>`+"\n", lx, ly-4, l.color, lx+15, ly+1, esc(l.text))
			lx += 15 + 6*float64(len(l.text)) + 12 // ~6 px per character at 11 px
		}
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func niceStep(maxT float64) float64 {
	for _, s := range []float64{10, 15, 30, 60, 120, 300} {
		if maxT/s <= 10 {
			return s
		}
	}
	return 600
}

func esc(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
