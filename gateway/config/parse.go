package config

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml/ast"

	"github.com/gatescale/gatescale/gateway/accesslog"
	"github.com/gatescale/gatescale/gateway/spec"
	"github.com/gatescale/gatescale/gateway/tracing"
	"github.com/gatescale/gatescale/internal/fileerr"
	"github.com/gatescale/gatescale/internal/yamldoc"
)

// Defaults of the top-level settings.
const (
	DefaultListen          = "127.0.0.1:8080"
	DefaultAdminListen     = "127.0.0.1:9090"
	DefaultDrainPeriod     = 5 * time.Second
	DefaultShutdownTimeout = 30 * time.Second
)

// Loaded is a parsed and validated configuration file.
type Loaded struct {
	// File is the document as written.
	File File
	// Spec is the gateway's state the file declares, validated: build it
	// with Build (or live.Runtime.Build) for (*gateway.Gateway).Apply.
	Spec spec.Config
	// Listen and AdminListen are the listener addresses, defaults applied.
	Listen, AdminListen string
	// DrainPeriod and ShutdownTimeout are for gateway.Server, defaults
	// applied.
	DrainPeriod, ShutdownTimeout time.Duration
	// Hash is the SHA-256 of the file's bytes: a reload whose Hash did not
	// change has nothing to apply.
	Hash [32]byte
	// Server holds the listener limits of the limits section, defaults
	// applied.
	Server ServerSettings
	// TLS is the tls section, or nil (see TLSConfig).
	TLS *TLS
	// Tracing is the tracing section mapped onto tracing's options (the
	// zero Config without the section): for tracing.New, once at start.
	Tracing tracing.Config
	// Warnings are what the file is warned about but not refused for (see
	// live.Warnings: route shadowing), at their place in the file, sorted
	// by position.
	Warnings []*Error
	// AccessLog is the access_log section, validated; zero without one
	// (see PrepareAccessLog).
	AccessLog accesslog.Options

	// doc places problems found after Parse (Build) in the file.
	doc *yamldoc.Doc
}

// Error is one problem in a configuration file. Parse and Load return all
// the problems they find as an errors.Join of *Error, sorted by position.
type Error = fileerr.Error

// Load reads the file at path and parses it with Parse, using path as the
// name in error messages.
func Load(path string) (*Loaded, error) {
	data, err := fileerr.Read(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Parse parses and validates a configuration document. name is the file
// name used in error messages. On error the Loaded is nil and the error
// lists every problem found (see Error); nothing is half-valid.
func Parse(name string, data []byte) (*Loaded, error) {
	p := &parseState{name: name, doc: yamldoc.Parse(name, data, fileSchema)}
	loaded := p.parse()
	if err := p.doc.Err(); err != nil {
		return nil, err
	}
	loaded.Hash = sha256.Sum256(data)
	if testHookParsed != nil {
		testHookParsed(name, data)
	}
	return loaded, nil
}

// testHookParsed, set by the package's tests, sees every document Parse
// accepts (each must also be valid under the JSON Schema).
var testHookParsed func(name string, data []byte)

// parseState holds one Parse: the indexed document (which collects the
// errors) and what has been decoded so far.
type parseState struct {
	name string
	doc  *yamldoc.Doc

	file File
}

func (p *parseState) parse() *Loaded {
	if p.doc.ErrorCount() > 0 {
		return nil // a syntax error or a second document
	}
	body := p.doc.Body()
	if body == nil {
		p.doc.Add(yamldoc.Pos{Line: 1, Column: 1}, "", "the file is empty: expected a mapping with upstreams and routes")
		return nil
	}
	if top := p.doc.Resolve(body); !yamldoc.IsMapping(top) {
		got := "an alias"
		if top != nil {
			got = yamldoc.NodeDesc(top)
		}
		p.doc.Add(yamldoc.NodePos(body), "", "expected a mapping of settings at the top level, got "+got)
		return nil
	}
	p.doc.Check(body, reflect.TypeFor[File](), "")
	if !p.decode(body) {
		return nil
	}
	return p.build()
}

// fileSchema is what the gateway's format adds to yamldoc's rules.
var fileSchema = yamldoc.Schema{
	Check:    checkInstance,
	Describe: typeDesc,
	// Top-level keys beginning with x- hold anchors for the rest of the file.
	IgnoreKey: func(path, key string) bool { return path == "" && strings.HasPrefix(key, "x-") },
	Merge:     refuseMerge,
	Errors: func(err error) error {
		var ve *spec.ValueError
		if errors.As(err, &ve) {
			return &yamldoc.ValueError{Node: ve.Node, Msg: ve.Msg}
		}
		if errors.Is(err, spec.ErrShape) {
			return yamldoc.ErrWrongKind
		}
		return err
	},
}

// refuseMerge refuses merge keys where decode reads keys one by one: at the
// top level and in mappings by name (upstreams, subset...), whose names
// must be written out.
func refuseMerge(d *yamldoc.Doc, key ast.Node, path string, t reflect.Type) bool {
	switch {
	case path == "":
		d.ShapeError(yamldoc.NodePos(key), "<<", "merge keys are not supported at the top level")
		return false
	case t.Kind() == reflect.Map:
		d.ShapeError(yamldoc.NodePos(key), path, "merge keys (<<) are not supported here")
		return false
	}
	return true
}

var (
	durationType = reflect.TypeFor[Duration]()
	sizeType     = reflect.TypeFor[Size]()
	instanceType = reflect.TypeFor[spec.Instance]()
)

// checkInstance checks an instance, "host:port" or a mapping with addr.
func checkInstance(d *yamldoc.Doc, n ast.Node, t reflect.Type, path string, depth int) bool {
	if t != instanceType {
		return false
	}
	switch {
	case yamldoc.IsMapping(n) && isFlowHostPort(n):
		// [a:1] inside {...} is the mapping {a: 1} to YAML.
		d.ShapeError(yamldoc.NodePos(n), path, fmt.Sprintf("expected %s, got the mapping {%s}: inside {...} quote addresses, as in [\"%s\"]",
			typeDesc(t), yamldoc.PairText(n), yamldoc.PairText(n)))
	case yamldoc.IsMapping(n):
		d.CheckStruct(n, reflect.TypeFor[spec.InstanceFields](), path, depth)
	case !yamldoc.IsStringScalar(n):
		d.ShapeError(yamldoc.NodePos(n), path, fmt.Sprintf("expected %s, got %s", typeDesc(t), yamldoc.NodeDesc(n)))
	}
	return true
}

// isFlowHostPort reports whether n looks like host:port read as a
// one-pair flow mapping {host: port}.
func isFlowHostPort(n ast.Node) bool {
	ps := yamldoc.Pairs(n)
	if len(ps) != 1 || ps[0].Key == nil || ps[0].Key.IsMergeKey() {
		return false
	}
	if _, known := yamlFields(reflect.TypeFor[spec.InstanceFields]())[keyText(ps[0].Key)]; known {
		return false
	}
	_, isInt := spec.UnwrapTag(ps[0].Value).(*ast.IntegerNode)
	return isInt
}

// typeDesc describes what the format's own types accept.
func typeDesc(t reflect.Type) string {
	switch t {
	case durationType:
		return `a duration such as "5s"`
	case sizeType:
		return `a size such as 1048576 or "1MiB"`
	case instanceType:
		return `"host:port" or a mapping with addr`
	}
	return ""
}

// errf reports a problem with the value at path, or with its absence: a
// missing value is reported at its nearest present parent.
func (p *parseState) errf(path, format string, args ...any) {
	p.doc.Errorf(path, format, args...)
}

// errKey reports a problem with the key of path (e.g. a duplicate name).
func (p *parseState) errKey(path, format string, args ...any) {
	p.doc.KeyErrorf(path, format, args...)
}

// pos returns the position of path's value, or, if path is absent, that
// of its nearest present parent.
func (p *parseState) pos(path string) yamldoc.Pos { return p.doc.Pos(path) }

// present reports whether path is written in the file (not merged from an
// anchor, not defaulted).
func (p *parseState) present(path string) bool { return p.doc.Present(path) }

// hasStructErr reports whether the entry at path has a structural or
// decoding error; such entries are not validated further.
func (p *parseState) hasStructErr(path string) bool { return p.doc.HasShapeError(path) }

func join(path, key string) string { return yamldoc.Join(path, key) }

func keyText(k ast.Node) string { return yamldoc.KeyText(k) }

func yamlFields(t reflect.Type) map[string]reflect.StructField { return yamldoc.Fields(t) }

// decode decodes the document with goccy/go-yaml's strict decoder, entry by
// entry (each top-level setting, each upstream, each route), so that one
// bad entry does not hide the problems of the others.
func (p *parseState) decode(body ast.Node) bool {
	if !p.doc.Decodable() {
		return false
	}
	fields := yamlFields(reflect.TypeFor[File]())
	fv := reflect.ValueOf(&p.file).Elem()
	done := map[string]bool{}
	for _, mv := range yamldoc.Pairs(p.doc.Resolve(body)) {
		if mv.Key == nil || mv.Key.IsMergeKey() {
			continue
		}
		key := keyText(mv.Key)
		f, ok := fields[key]
		if !ok || done[key] {
			continue
		}
		done[key] = true
		switch key {
		case "upstreams":
			p.decodeUpstreams(mv.Value)
		case "routes":
			p.decodeRoutes(mv.Value)
		default:
			if p.hasStructErr(key) {
				continue
			}
			v := reflect.New(f.Type)
			if p.doc.DecodeEntry(mv.Value, v.Interface(), key) {
				yamldoc.FieldByIndex(fv, f.Index).Set(v.Elem())
			}
		}
	}
	return true
}

func (p *parseState) decodeUpstreams(n ast.Node) {
	n = p.doc.Resolve(n)
	if !yamldoc.IsMapping(n) {
		return
	}
	p.file.Upstreams = map[string]spec.Upstream{}
	for _, mv := range yamldoc.Pairs(n) {
		if mv.Key == nil || mv.Key.IsMergeKey() {
			continue
		}
		name := keyText(mv.Key)
		if _, seen := p.file.Upstreams[name]; seen {
			continue // a duplicate, reported by index
		}
		// A broken entry still defines its name (routes that name it are
		// not told it is undefined); validation skips it.
		var u spec.Upstream
		path := join("upstreams", name)
		if !p.hasStructErr(path) && !p.doc.DecodeEntry(mv.Value, &u, path) {
			u = spec.Upstream{}
		}
		p.file.Upstreams[name] = u
	}
}

func (p *parseState) decodeRoutes(n ast.Node) {
	seq, ok := p.doc.Resolve(n).(*ast.SequenceNode)
	if !ok {
		return
	}
	for i, v := range seq.Values {
		path := "routes[" + strconv.Itoa(i) + "]"
		var r spec.Route
		if _, empty := p.doc.Resolve(v).(*ast.NullNode); empty {
			p.doc.ShapeError(p.pos(path), path, "is empty: expected a route (a mapping with name, path or path_prefix, and upstream)")
		} else if !p.hasStructErr(path) && !p.doc.DecodeEntry(v, &r, path) {
			r = spec.Route{}
		}
		// Every entry keeps its index, so paths name the file's entries.
		p.file.Routes = append(p.file.Routes, r)
	}
}
