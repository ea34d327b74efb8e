package console

import (
	"net/http"
	"slices"
	"strings"

	"github.com/gatescale/gatescale/gateway/compose"
	"github.com/gatescale/gatescale/gateway/lifecycle"
	"github.com/gatescale/gatescale/gateway/route"
)

// Graph is one route drawn as a graph: the route, then what it calls. A
// plain route has one edge to its upstream (and one per variant); a
// composite route has one node per call, an edge from each call it needs
// (its templates and for_each name that call's answer) or from the route
// when it needs none.
type Graph struct {
	Route     string `json:"route"`
	Match     string `json:"match"`
	Lifecycle string `json:"lifecycle"`
	Composite bool   `json:"composite"`
	Nodes     []Node `json:"nodes"`
	Edges     []Edge `json:"edges"`
}

// Node is a route, a composite call or an upstream. Layer is its depth
// (the route is 0, a call is one more than the deepest call it needs).
type Node struct {
	ID       string `json:"id"`
	Kind     string `json:"kind"` // route, call, upstream
	Label    string `json:"label"`
	Upstream string `json:"upstream,omitempty"`
	Optional bool   `json:"optional,omitempty"`
	ForEach  string `json:"for_each,omitempty"`
	Layer    int    `json:"layer"`
}

// Edge is a dependency; Stats, when the metrics have it, is the traffic of
// its target (the route's own for a plain route, the call's for a call).
type Edge struct {
	From  string `json:"from"`
	To    string `json:"to"`
	Stats *Row   `json:"stats,omitempty"`
}

// Graphs returns the graph of every route in force, in table order, with
// the newest sample's numbers on the edges.
func (c *Console) Graphs() []Graph {
	last := c.sampler.latest()
	out := []Graph{}
	for _, r := range c.opts.Gateway.Routes() {
		out = append(out, graphOf(r, last.Routes))
	}
	return out
}

func graphOf(r route.Route, rows map[string]Row) Graph {
	stats := func(row string) *Row {
		if s, ok := rows[row]; ok {
			return &s
		}
		return nil
	}
	g := Graph{Route: r.Name, Match: match(r), Lifecycle: lifecycle.State(r.Lifecycle),
		Nodes: []Node{{ID: "route", Kind: "route", Label: r.Name}}}
	if r.Composite == nil {
		ups := []string{r.Upstream}
		for _, v := range r.Variants {
			if !slices.Contains(ups, v.Upstream) {
				ups = append(ups, v.Upstream)
			}
		}
		for _, u := range ups {
			id := "upstream:" + u
			g.Nodes = append(g.Nodes, Node{ID: id, Kind: "upstream", Label: u, Upstream: u, Layer: 1})
			g.Edges = append(g.Edges, Edge{From: "route", To: id, Stats: stats(r.Name)})
		}
		return g
	}
	g.Composite = true
	calls := r.Composite.Calls
	needs := r.Composite.Needs()
	layer := map[string]int{}
	var depth func(i int, seen map[int]bool) int
	depth = func(i int, seen map[int]bool) int {
		if l, ok := layer[calls[i].Name]; ok {
			return l
		}
		if seen[i] { // a cycle: validation refuses it; do not loop
			return 1
		}
		seen[i] = true
		l := 1
		for _, n := range needs[i] {
			if j := slices.IndexFunc(calls, func(c2 compose.Call) bool { return c2.Name == n }); j >= 0 {
				l = max(l, depth(j, seen)+1)
			}
		}
		layer[calls[i].Name] = l
		return l
	}
	for i, call := range calls {
		id := "call:" + call.Name
		g.Nodes = append(g.Nodes, Node{ID: id, Kind: "call", Label: call.Name, Upstream: call.Upstream,
			Optional: call.Optional, ForEach: call.ForEach, Layer: depth(i, map[int]bool{})})
		s := stats(r.Name + " › " + call.Name)
		if len(needs[i]) == 0 {
			g.Edges = append(g.Edges, Edge{From: "route", To: id, Stats: s})
		}
		for _, n := range needs[i] {
			g.Edges = append(g.Edges, Edge{From: "call:" + n, To: id, Stats: s})
		}
	}
	return g
}

func match(r route.Route) string {
	var b strings.Builder
	if len(r.Methods) > 0 {
		b.WriteString(strings.Join(r.Methods, ",") + " ")
	}
	switch {
	case r.Path != "":
		b.WriteString(r.Path)
	case r.PathPrefix != "":
		b.WriteString(r.PathPrefix + "…")
	}
	if len(r.Hosts) > 0 {
		b.WriteString(" @" + strings.Join(r.Hosts, ","))
	}
	return b.String()
}

func (c *Console) graph(w http.ResponseWriter, r *http.Request) { writeJSON(w, c.Graphs()) }
