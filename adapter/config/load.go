package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"

	"github.com/gatescale/gatescale/internal/fileerr"
)

// Position is a 1-based line and column in a file; Line 0 means unknown.
type Position struct{ Line, Column int }

// Error is one problem in a configuration file. Parse returns all it finds
// as an errors.Join of *Error, sorted by position.
type Error = fileerr.Error

// Source knows where each value of a parsed file is, so that any stage
// (parsing, validation, compiling rules against a REST mapper) can point
// at the line that caused a problem.
type Source struct {
	// Name is the file name used in messages.
	Name   string
	keyPos map[string]Position
	valPos map[string]Position
	byPos  map[Position]string
}

// Pos returns the position of the value at path, or of its closest
// ancestor that has one.
func (s *Source) Pos(path string) Position {
	for p := path; ; {
		if pos, ok := s.valPos[p]; ok {
			return pos
		}
		if p == "" {
			return Position{}
		}
		p = parentPath(p)
	}
}

// KeyPos returns the position of the key of path (the value's when there is
// no key, as for list items).
func (s *Source) KeyPos(path string) Position {
	if pos, ok := s.keyPos[path]; ok {
		return pos
	}
	return s.Pos(path)
}

// Errorf returns an *Error at the value of path.
func (s *Source) Errorf(path, format string, args ...any) *Error {
	pos := s.Pos(path)
	return &Error{File: s.Name, Line: pos.Line, Column: pos.Column, Path: path, Message: fmt.Sprintf(format, args...)}
}

func parentPath(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i < 0 {
		return ""
	}
	return p[:i]
}

// Load reads and parses the file at path; see Parse.
func Load(path string) (*Config, error) {
	data, err := fileerr.Read(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Parse parses and validates a configuration written for prometheus-adapter
// (or with gatescale's additions). name is used in error messages. As
// prometheus-adapter does, it refuses unknown fields, so a misspelt key
// (metricQuery for metricsQuery) is an error, not a rule that silently
// does nothing. On error the Config is nil and the error lists every
// problem found as file:line:col: path: message.
func Parse(name string, data []byte) (*Config, error) {
	src := &Source{Name: name, keyPos: map[string]Position{}, valPos: map[string]Position{}, byPos: map[Position]string{}}
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		return nil, src.yamlError(err)
	}
	var body ast.Node
	for _, doc := range f.Docs {
		if doc == nil || doc.Body == nil {
			continue
		}
		if _, isNull := doc.Body.(*ast.NullNode); isNull {
			continue
		}
		if body != nil {
			return nil, src.errAt(nodePos(doc.Body), "", "only one YAML document is allowed per file")
		}
		body = doc.Body
	}
	cfg := &Config{source: src}
	if body == nil {
		// An empty file is an empty configuration, as for prometheus-adapter.
		return cfg, nil
	}
	src.index(body, "")
	if _, ok := body.(*ast.MappingNode); !ok {
		if _, ok := body.(*ast.MappingValueNode); !ok {
			return nil, src.errAt(nodePos(body), "", fmt.Sprintf("expected a mapping with rules, externalRules or resourceRules at the top level, got %s", body.Type()))
		}
	}
	if err := yaml.NodeToValue(body, cfg, yaml.Strict()); err != nil {
		return nil, src.yamlError(err)
	}
	cfg.source = src
	if errs := cfg.validate(); len(errs) > 0 {
		return nil, joinSorted(errs)
	}
	return cfg, nil
}

func (s *Source) errAt(p Position, path, msg string) error {
	return &Error{File: s.Name, Line: p.Line, Column: p.Column, Path: path, Message: msg}
}

// yamlError converts a go-yaml error into an *Error with the position and,
// when the position is indexed, the path of the offending value.
func (s *Source) yamlError(err error) error {
	var ye yaml.Error
	if errors.As(err, &ye) && ye.GetToken() != nil {
		tk := ye.GetToken()
		p := Position{tk.Position.Line, tk.Position.Column}
		msg := ye.GetMessage()
		// go-yaml names Go types ("cannot unmarshal []interface {} into Go
		// struct field ..."); say it in terms of the file.
		if strings.HasPrefix(msg, "cannot unmarshal ") {
			msg = "wrong type: " + strings.TrimPrefix(msg, "cannot unmarshal ")
		}
		return s.errAt(p, s.byPos[p], msg)
	}
	return &Error{File: s.Name, Message: err.Error()}
}

func nodePos(n ast.Node) Position {
	// go-yaml's token for a block mapping is its first ':'; point at the
	// first key instead, where a reader looks.
	switch m := n.(type) {
	case *ast.MappingNode:
		if len(m.Values) > 0 && !m.IsFlowStyle {
			return nodePos(m.Values[0].Key)
		}
	case *ast.MappingValueNode:
		return nodePos(m.Key)
	}
	if n == nil || n.GetToken() == nil {
		return Position{}
	}
	tk := n.GetToken()
	return Position{tk.Position.Line, tk.Position.Column}
}

// index records the key and value positions of every path under n.
func (s *Source) index(n ast.Node, path string) {
	switch v := n.(type) {
	case *ast.DocumentNode:
		s.index(v.Body, path)
	case *ast.TagNode:
		s.setVal(path, v)
		s.index(v.Value, path)
	case *ast.AnchorNode:
		s.setVal(path, v.Value)
		s.index(v.Value, path)
	case *ast.MappingNode:
		s.setVal(path, v)
		for _, mv := range v.Values {
			s.indexPair(mv, path)
		}
	case *ast.MappingValueNode:
		s.setVal(path, v)
		s.indexPair(v, path)
	case *ast.SequenceNode:
		s.setVal(path, v)
		for i, item := range v.Values {
			p := path + "[" + strconv.Itoa(i) + "]"
			s.index(item, p)
		}
	default:
		s.setVal(path, n)
	}
}

func (s *Source) indexPair(mv *ast.MappingValueNode, parent string) {
	key := strings.Trim(mv.Key.String(), `"'`)
	p := key
	if parent != "" {
		p = parent + "." + key
	}
	kp := nodePos(mv.Key)
	s.keyPos[p] = kp
	if _, seen := s.byPos[kp]; !seen {
		s.byPos[kp] = p
	}
	s.index(mv.Value, p)
}

func (s *Source) setVal(path string, n ast.Node) {
	p := nodePos(n)
	if p.Line == 0 {
		return
	}
	if _, ok := s.valPos[path]; !ok {
		s.valPos[path] = p
	}
	if _, ok := s.byPos[p]; !ok {
		s.byPos[p] = path
	}
}

func joinSorted(errs []*Error) error {
	sortByPos(errs)
	out := make([]error, len(errs))
	for i, e := range errs {
		out[i] = e
	}
	return errors.Join(out...)
}
