package config

import (
	"fmt"
	"reflect"

	"github.com/gatescale/gatescale/internal/fileerr"
	"github.com/gatescale/gatescale/internal/yamldoc"
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
	Name string
	doc  *yamldoc.Doc
}

// Pos returns the position of the value at path, or of its closest
// ancestor that has one.
func (s *Source) Pos(path string) Position {
	if s.doc == nil {
		return Position{}
	}
	for p := path; ; p = yamldoc.ParentPath(p) {
		if at, ok := s.doc.ValuePos(p); ok {
			return Position(at)
		}
		if p == "" {
			return Position{}
		}
	}
}

// KeyPos returns the position of the key of path (the value's when there is
// no key, as for list items).
func (s *Source) KeyPos(path string) Position {
	if s.doc != nil {
		if at, ok := s.doc.KeyPos(path); ok {
			return Position(at)
		}
	}
	return s.Pos(path)
}

// Errorf returns an *Error at the value of path.
func (s *Source) Errorf(path, format string, args ...any) *Error {
	pos := s.Pos(path)
	return &Error{File: s.Name, Line: pos.Line, Column: pos.Column, Path: path, Message: fmt.Sprintf(format, args...)}
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
	doc := yamldoc.Parse(name, data, yamldoc.Schema{Describe: describe})
	if err := doc.Err(); err != nil {
		return nil, err
	}
	src := &Source{Name: name, doc: doc}
	body := doc.Body()
	if body == nil {
		// An empty file is an empty configuration, as for prometheus-adapter.
		return &Config{source: src}, nil
	}
	if top := doc.Resolve(body); !yamldoc.IsMapping(top) {
		got := "an alias"
		if top != nil {
			got = yamldoc.NodeDesc(top)
		}
		doc.Add(yamldoc.NodePos(body), "", "expected a mapping with rules, externalRules or resourceRules at the top level, got "+got)
		return nil, doc.Err()
	}
	doc.Check(body, reflect.TypeFor[Config](), "")
	cfg := &Config{}
	doc.Decode(cfg)
	if err := doc.Err(); err != nil {
		return nil, err
	}
	cfg.source = src
	if errs := cfg.validate(); len(errs) > 0 {
		return nil, yamldoc.JoinSorted(errs)
	}
	return cfg, nil
}

// describe names what the format's own types accept.
func describe(t reflect.Type) string {
	if t == reflect.TypeFor[Duration]() {
		return `a duration such as "30s"`
	}
	return ""
}
