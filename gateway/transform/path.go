package transform

import (
	"fmt"
	"strings"
)

// Path is a parsed field path (see ClientType for the syntax).
type Path []Segment

// Segment is one step of a Path: the field Name of an object, and with
// Each, every element of the array that field holds. Only a Path's first
// Segment may have an empty Name, with Each: the elements of a top-level
// array.
type Segment struct {
	Name string
	Each bool
}

// maxPathLen bounds a path, which comes from configuration: far above any
// real one, it only keeps a pathological one from costing much.
const maxPathLen = 1024

// ParsePath parses a field path such as "items[].id", "[].id" or "a\.b".
// The path must end with a field name.
func ParsePath(s string) (Path, error) {
	if s == "" {
		return nil, fmt.Errorf("empty path")
	}
	if len(s) > maxPathLen {
		return nil, fmt.Errorf("path longer than %d bytes", maxPathLen)
	}
	var p Path
	for i := 0; ; {
		start := i
		var name strings.Builder
		for i < len(s) && s[i] != '.' && s[i] != '[' {
			c := s[i]
			switch c {
			case ']':
				return nil, fmt.Errorf("%q: unexpected \"]\" at offset %d (escape it as \\])", s, i)
			case '\\':
				if i+1 == len(s) {
					return nil, fmt.Errorf("%q: the backslash at the end escapes nothing", s)
				}
				i++
				c = s[i]
			}
			name.WriteByte(c)
			i++
		}
		seg := Segment{Name: name.String()}
		if i < len(s) && s[i] == '[' {
			if i+1 == len(s) || s[i+1] != ']' {
				return nil, fmt.Errorf("%q: \"[\" at offset %d is not \"[]\" (escape it as \\[)", s, i)
			}
			seg.Each = true
			i += 2
		}
		if i == start || (i-start == 2 && seg.Each && len(p) > 0) {
			return nil, fmt.Errorf("%q: empty field name at offset %d", s, start)
		}
		p = append(p, seg)
		if i == len(s) {
			break
		}
		if s[i] != '.' {
			return nil, fmt.Errorf("%q: \"[]\" at offset %d must be followed by a dot or end the path", s, i-2)
		}
		if i++; i == len(s) {
			return nil, fmt.Errorf("%q: ends with a dot", s)
		}
	}
	if p[len(p)-1].Each {
		return nil, fmt.Errorf("%q: must end with a field name, not []", s)
	}
	return p, nil
}

// String returns the path in the syntax ParsePath reads.
func (p Path) String() string {
	var b strings.Builder
	for i, seg := range p {
		if i > 0 {
			b.WriteByte('.')
		}
		for j := 0; j < len(seg.Name); j++ {
			switch c := seg.Name[j]; c {
			case '.', '[', ']', '\\':
				b.WriteByte('\\')
				b.WriteByte(c)
			default:
				b.WriteByte(c)
			}
		}
		if seg.Each {
			b.WriteString("[]")
		}
	}
	return b.String()
}
