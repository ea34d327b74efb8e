package compose

import (
	"maps"
	"slices"
)

// Needs returns, for each call in declaration order, the names of the other
// calls whose answers it uses — in its path, query and header templates and
// in for_each — each once, in the order first used. It is the dependency
// graph Plan runs (the console draws it). Templates that do not parse are
// skipped: Validate reports them.
func (c *Composite) Needs() [][]string {
	index := map[string]int{}
	for i, call := range c.Calls {
		if _, dup := index[call.Name]; !dup {
			index[call.Name] = i
		}
	}
	out := make([][]string, len(c.Calls))
	for i, call := range c.Calls {
		add := func(r ref) {
			if j, ok := index[r.source]; ok && j != i {
				for _, n := range out[i] {
					if n == r.source {
						return
					}
				}
				out[i] = append(out[i], r.source)
			}
		}
		texts := []string{call.Path}
		for _, k := range slices.Sorted(maps.Keys(call.Query)) {
			texts = append(texts, call.Query[k])
		}
		for _, k := range slices.Sorted(maps.Keys(call.Headers)) {
			texts = append(texts, call.Headers[k])
		}
		for _, s := range texts {
			if t, err := parseTemplate(s); err == nil {
				for _, r := range t.refs() {
					add(r)
				}
			}
		}
		if call.ForEach != "" {
			if r, err := parseRef(call.ForEach); err == nil {
				add(r)
			}
		}
	}
	return out
}
