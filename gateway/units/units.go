package units

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml/ast"
)

// ErrShape is returned by UnmarshalYAML methods for a node of the wrong
// kind; the file's structural check has already reported it with its
// position.
var ErrShape = errors.New("wrong kind of YAML node")

// Duration is a time.Duration written as a Go duration string ("250ms",
// "10s", "1m30s"). A bare number is refused, except 0, because its unit
// would be a guess.
type Duration time.Duration

// UnmarshalYAML implements yaml.NodeUnmarshaler.
func (d *Duration) UnmarshalYAML(node ast.Node) error {
	node = UnwrapTag(node)
	switch n := node.(type) {
	case *ast.NullNode:
		*d = 0
		return nil
	case *ast.StringNode:
		v, err := parseDuration(n.Value)
		if err != nil {
			return &ValueError{Node: node, Msg: err.Error()}
		}
		*d = Duration(v)
		return nil
	case *ast.IntegerNode, *ast.FloatNode:
		text := n.GetToken().Value
		if f, err := strconv.ParseFloat(text, 64); err == nil && f == 0 {
			*d = 0
			return nil
		}
		return &ValueError{Node: node, Msg: fmt.Sprintf("%s has no unit: write a duration such as %q", text, text+"s")}
	}
	return ErrShape
}

// MarshalYAML writes the duration as a string.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// String returns the duration in Go syntax.
func (d Duration) String() string { return time.Duration(d).String() }

func parseDuration(s string) (time.Duration, error) {
	v, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (examples: \"250ms\", \"10s\", \"1m30s\")", s)
	}
	return v, nil
}

// Size is a byte count written as an integer or as a string with a unit:
// B, KB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024),
// case-insensitive, e.g. "512KiB", "10MB", "1 MiB".
type Size int64

// UnmarshalYAML implements yaml.NodeUnmarshaler.
func (s *Size) UnmarshalYAML(node ast.Node) error {
	node = UnwrapTag(node)
	switch n := node.(type) {
	case *ast.NullNode:
		*s = 0
		return nil
	case *ast.IntegerNode:
		switch v := n.GetValue().(type) {
		case int64:
			*s = Size(v)
			return nil
		case uint64:
			if v <= math.MaxInt64 {
				*s = Size(v)
				return nil
			}
		}
		return &ValueError{Node: node, Msg: fmt.Sprintf("size %s is too large", n.GetToken().Value)}
	case *ast.StringNode:
		v, err := parseSize(n.Value)
		if err != nil {
			return &ValueError{Node: node, Msg: err.Error()}
		}
		*s = Size(v)
		return nil
	case *ast.FloatNode:
		return &ValueError{Node: node, Msg: fmt.Sprintf("%s is not a whole number of bytes", n.GetToken().Value)}
	}
	return ErrShape
}

var sizeUnits = map[string]int64{
	"": 1, "b": 1,
	"kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
	"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
}

func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	mult, ok := sizeUnits[strings.ToLower(strings.TrimSpace(t[i:]))]
	if i == 0 || !ok {
		return 0, fmt.Errorf("%q is not a size (examples: 1048576, \"512KiB\", \"1MiB\", \"10MB\")", s)
	}
	n, err := strconv.ParseInt(t[:i], 10, 64)
	if err != nil || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	return n * mult, nil
}

// MarshalYAML writes the size as an integer.
func (s Size) MarshalYAML() (any, error) { return int64(s), nil }

// ValueError is a bad scalar found while decoding YAML, with its node, so
// that the file reports it at its position.
type ValueError struct {
	Node ast.Node
	Msg  string
}

func (e *ValueError) Error() string { return e.Msg }

// UnwrapTag returns the node under YAML tags (!!str and the like).
func UnwrapTag(n ast.Node) ast.Node {
	for {
		t, ok := n.(*ast.TagNode)
		if !ok || t.Value == nil {
			return n
		}
		n = t.Value
	}
}

// MarshalJSON writes the duration as a string ("1m30s").
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON accepts a duration string, or 0.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	switch v := v.(type) {
	case nil:
		*d = 0
		return nil
	case string:
		p, err := parseDuration(v)
		if err != nil {
			return err
		}
		*d = Duration(p)
		return nil
	case float64:
		if v == 0 {
			*d = 0
			return nil
		}
		return fmt.Errorf("%s has no unit: write a duration such as %q", string(b), string(b)+"s")
	}
	return fmt.Errorf("expected a duration such as \"5s\", got %s", string(b))
}

// Std returns the duration as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// UnmarshalJSON accepts a byte count or a string with a unit.
func (s *Size) UnmarshalJSON(b []byte) error {
	var v any
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return err
	}
	switch v := v.(type) {
	case nil:
		*s = 0
		return nil
	case json.Number:
		n, err := strconv.ParseInt(v.String(), 10, 64)
		if err != nil {
			return fmt.Errorf("%s is not a whole number of bytes", v)
		}
		*s = Size(n)
		return nil
	case string:
		n, err := parseSize(v)
		if err != nil {
			return err
		}
		*s = Size(n)
		return nil
	}
	return fmt.Errorf(`expected a size such as 1048576 or "1MiB", got %s`, string(b))
}
