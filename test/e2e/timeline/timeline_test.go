package timeline

import (
	"bytes"
	"encoding/xml"
	"math"
	"strings"
	"testing"
	"time"
)

func TestCSVAndSVG(t *testing.T) {
	r := &Run{Name: "qps"}
	for s := 0; s <= 100; s += 5 {
		cur := 2
		if s >= 50 && s < 90 {
			cur = 3
		}
		per := math.NaN()
		if s > 0 {
			per = float64(s) / float64(cur)
		}
		r.Add(Point{At: time.Duration(s) * time.Second, OfferedQPS: float64(s), PerPodQPS: per, Desired: cur, Current: cur, ServingPods: cur})
	}
	var csvOut bytes.Buffer
	if err := WriteCSV(&csvOut, r); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(csvOut.String()), "\n")
	if len(lines) != 22 || lines[1] != "qps,0.0,0.0,,2,2,2" || lines[11] != "qps,50.0,50.0,16.67,3,3,3" {
		t.Fatalf("csv:\n%s", csvOut.String())
	}
	if at := r.FirstAt(func(p Point) bool { return p.Current == 3 }); at != 50*time.Second {
		t.Fatalf("FirstAt = %v", at)
	}
	var svg bytes.Buffer
	if err := WriteSVG(&svg, "Fig. 7", 45, r, r); err != nil {
		t.Fatal(err)
	}
	// Well-formed XML with one panel per run.
	d := xml.NewDecoder(bytes.NewReader(svg.Bytes()))
	for {
		if _, err := d.Token(); err != nil {
			if err.Error() != "EOF" {
				t.Fatalf("svg is not well-formed: %v", err)
			}
			break
		}
	}
	if n := strings.Count(svg.String(), ">qps</text>"); n != 2 {
		t.Fatalf("%d panels, want 2", n)
	}
}
