package config

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"

	"github.com/gatescale/gatescale/gateway/spec"
	"github.com/gatescale/gatescale/internal/fileerr"
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

	// name, valPos and keyPos place problems found after Parse (Build).
	name           string
	valPos, keyPos map[string]pos
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
	p := &parseState{
		name:     name,
		anchors:  map[string]ast.Node{},
		keyPos:   map[string]pos{},
		valPos:   map[string]pos{},
		byPos:    map[pos]string{},
		parentOf: map[string]string{},
		scalar:   map[string]bool{},
		checked:  map[checkKey]bool{},
	}
	loaded := p.parse(data)
	if len(p.errs) > 0 {
		return nil, p.joined()
	}
	loaded.Hash = sha256.Sum256(data)
	return loaded, nil
}

// pos is a 1-based line and column.
type pos struct{ line, col int }

type checkKey struct {
	node ast.Node
	typ  reflect.Type
}

// parseState holds one Parse: the AST index and the errors so far.
type parseState struct {
	name string
	errs []*Error
	seen map[Error]bool

	// anchors by name, for following aliases during the structural check.
	anchors map[string]ast.Node
	// keyPos and valPos are where the key and the value of a path are;
	// byPos maps a token position back to its path.
	keyPos, valPos map[string]pos
	byPos          map[pos]string
	parentOf       map[string]string
	scalar         map[string]bool // paths whose value is a scalar
	// noDecode is set for errors the decoder would report again for the
	// whole document: aliases without anchors, bad merge keys.
	noDecode bool
	// checked avoids checking a node aliased many times more than once.
	checked map[checkKey]bool
	// structErrs are the paths with structural or decoding errors; their
	// entries are not decoded or validated further.
	structErrs []string

	file File
}

const maxDepth = 64

func (p *parseState) parse(data []byte) *Loaded {
	f, err := parser.ParseBytes(data, 0, parser.AllowDuplicateMapKey())
	if err != nil {
		p.yamlError(err, "")
		return nil
	}
	var body ast.Node
	for _, doc := range f.Docs {
		if doc == nil || doc.Body == nil {
			continue
		}
		if _, isNull := spec.UnwrapTag(doc.Body).(*ast.NullNode); isNull {
			continue
		}
		if body != nil {
			p.add(nodePos(doc.Body), "", "only one YAML document is allowed per file")
			return nil
		}
		body = doc.Body
	}
	if body == nil {
		p.add(pos{1, 1}, "", "the file is empty: expected a mapping with upstreams and routes")
		return nil
	}
	p.valPos[""] = nodePos(body)
	p.index(body, "", 0)
	if top := p.resolve(body); !p.isMapping(top) {
		got := "an alias"
		if top != nil {
			got = nodeDesc(top)
		}
		p.add(nodePos(body), "", "expected a mapping of settings at the top level, got "+got)
		return nil
	}
	p.check(body, reflect.TypeFor[File](), "", 0)
	if p.noDecode || !p.decode(body) {
		return nil
	}
	return p.build()
}

// joined returns the errors sorted by position, as one error.
func (p *parseState) joined() error {
	slices.SortStableFunc(p.errs, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
	errs := make([]error, len(p.errs))
	for i, e := range p.errs {
		errs[i] = e
	}
	return errors.Join(errs...)
}

// add records an error at at, once.
func (p *parseState) add(at pos, path, msg string) {
	msg = strings.ReplaceAll(strings.TrimSpace(msg), "\n", " ")
	e := Error{File: p.name, Line: at.line, Column: at.col, Path: path, Message: msg}
	if p.seen == nil {
		p.seen = map[Error]bool{}
	}
	if p.seen[e] {
		return
	}
	p.seen[e] = true
	p.errs = append(p.errs, &e)
}

// errf reports a problem with the value at path, or with its absence: a
// missing value is reported at its nearest present parent.
func (p *parseState) errf(path, format string, args ...any) {
	p.add(p.pos(path), path, fmt.Sprintf(format, args...))
}

// errKey reports a problem with the key of path (e.g. a duplicate name).
func (p *parseState) errKey(path, format string, args ...any) {
	at, ok := p.keyPos[path]
	if !ok {
		at = p.pos(path)
	}
	p.add(at, path, fmt.Sprintf(format, args...))
}

// pos returns the position of path's value, or, if path is absent, that
// of its nearest present parent.
func (p *parseState) pos(path string) pos {
	if at, ok := p.valPos[path]; ok {
		return at
	}
	if at, ok := p.keyPos[path]; ok {
		return at
	}
	return p.parentPos(parentPath(path))
}

// parentPos is where a missing child of path is reported: at path's key if
// it has one (the "users:" of an upstream), else at its value.
func (p *parseState) parentPos(path string) pos {
	for range 1000 {
		if at, ok := p.keyPos[path]; ok {
			return at
		}
		if at, ok := p.valPos[path]; ok {
			return at
		}
		if path == "" {
			break
		}
		path = parentPath(path)
	}
	return pos{1, 1}
}

// present reports whether path is written in the file (not merged from an
// anchor, not defaulted).
func (p *parseState) present(path string) bool {
	_, ok := p.keyPos[path]
	return ok
}

// yamlError reports an error from the YAML parser or decoder; entry is the
// path being decoded, for errors that do not carry a position.
func (p *parseState) yamlError(err error, entry string) {
	var ve *spec.ValueError
	if errors.As(err, &ve) {
		at := nodePos(ve.Node)
		p.add(at, p.pathAt(at, ve.Node, entry), ve.Msg)
		return
	}
	if errors.Is(err, spec.ErrShape) {
		if !p.hasStructErr(entry) {
			p.errf(entry, "has a value of the wrong kind")
		}
		return
	}
	var ye yaml.Error
	if !errors.As(err, &ye) || ye.GetToken() == nil {
		p.errf(entry, "%s", firstLine(err.Error()))
		return
	}
	tk := ye.GetToken()
	at := pos{tk.Position.Line, tk.Position.Column}
	msg := ye.GetMessage()
	var (
		te *yaml.TypeError
		oe *yaml.OverflowError
		ue *yaml.UnexpectedNodeTypeError
	)
	switch {
	case errors.As(err, &te):
		msg = fmt.Sprintf("expected %s, got %s", typeDesc(te.DstType), tokenDesc(tk.Value, te.SrcType))
	case errors.As(err, &oe):
		msg = fmt.Sprintf("%s is out of range for %s", oe.SrcNum, typeDesc(oe.DstType))
	case errors.As(err, &ue):
		msg = fmt.Sprintf("expected %s, got %s", article(ue.Expected.YAMLName()), article(ue.Actual.YAMLName()))
	}
	path, ok := p.byPos[at]
	if !ok {
		path = entry
	}
	p.add(at, path, msg)
}

// pathAt returns the path of the node at at.
func (p *parseState) pathAt(at pos, n ast.Node, entry string) string {
	if path, ok := p.byPos[at]; ok {
		return path
	}
	if tk := n.GetToken(); tk != nil {
		if path, ok := p.byPos[pos{tk.Position.Line, tk.Position.Column}]; ok {
			return path
		}
	}
	return entry
}

func (p *parseState) hasStructErr(entry string) bool {
	for _, path := range p.structErrs {
		if isUnder(path, entry) {
			return true
		}
	}
	return false
}

// isUnder reports whether path is entry or below it.
func isUnder(path, entry string) bool {
	if entry == "" {
		return true
	}
	rest, ok := strings.CutPrefix(path, entry)
	return ok && (rest == "" || rest[0] == '.' || rest[0] == '[')
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

// index records the position and path of every node, every anchor, and
// duplicate keys. It does not follow aliases.
func (p *parseState) index(n ast.Node, path string, depth int) {
	if n == nil {
		return
	}
	if depth > maxDepth {
		p.add(nodePos(n), path, "nested too deeply")
		return
	}
	p.byPosOnce(nodePos(n), path)
	if tk := n.GetToken(); tk != nil {
		p.byPosOnce(pos{tk.Position.Line, tk.Position.Column}, path)
	}
	switch n := n.(type) {
	case *ast.DocumentNode:
		p.index(n.Body, path, depth+1)
	case *ast.TagNode:
		p.index(n.Value, path, depth+1)
	case *ast.AnchorNode:
		if n.Name != nil && n.Name.GetToken() != nil {
			p.anchors[n.Name.GetToken().Value] = n.Value
		}
		p.index(n.Value, path, depth+1)
	case *ast.AliasNode:
		name := ""
		if n.Value != nil && n.Value.GetToken() != nil {
			name = n.Value.GetToken().Value
		}
		if _, ok := p.anchors[name]; !ok {
			msg := fmt.Sprintf("alias *%s does not refer to an anchor (&%s) defined before it", name, name)
			if name == "" || name[0] == '.' {
				msg = fmt.Sprintf("*%s is read as a YAML alias: quote it, as in \"*%s\"", name, name)
			}
			p.add(nodePos(n), path, msg)
			p.noDecode = true
		}
	case *ast.SequenceNode:
		for i, v := range n.Values {
			child := path + "[" + strconv.Itoa(i) + "]"
			p.setPaths(child, path, pos{}, v)
			p.index(v, child, depth+1)
		}
	case *ast.MappingNode, *ast.MappingValueNode:
		first := map[string]pos{}
		for _, mv := range pairs(n) {
			if mv.Key == nil {
				continue
			}
			if mv.Key.IsMergeKey() {
				p.index(mv.Value, path, depth+1)
				continue
			}
			key := keyText(mv.Key)
			child := join(path, key)
			kp := nodePos(mv.Key)
			if at, dup := first[key]; dup {
				p.add(kp, child, fmt.Sprintf("duplicate key, first defined at line %d", at.line))
				// The entry holding the duplicate is not decoded further; a
				// duplicate upstream name leaves the first one alone.
				p.structErrs = append(p.structErrs, path)
				continue
			}
			first[key] = kp
			p.setPaths(child, path, kp, mv.Value)
			p.byPosOnce(kp, child)
			p.index(mv.Value, child, depth+1)
		}
	}
}

func (p *parseState) setPaths(child, parent string, kp pos, v ast.Node) {
	if kp != (pos{}) {
		p.keyPos[child] = kp
	}
	if v != nil {
		p.valPos[child] = nodePos(v)
	}
	p.parentOf[child] = parent
	if v != nil && isScalar(spec.UnwrapTag(v)) {
		p.scalar[child] = true
	}
}

func (p *parseState) byPosOnce(at pos, path string) {
	if _, ok := p.byPos[at]; !ok {
		p.byPos[at] = path
	}
}

// resolve returns the node n stands for: tags and anchors stripped, aliases
// followed. It returns nil for an alias to an unknown anchor.
func (p *parseState) resolve(n ast.Node) ast.Node {
	for range maxDepth {
		switch v := n.(type) {
		case *ast.TagNode:
			n = v.Value
		case *ast.AnchorNode:
			n = v.Value
		case *ast.AliasNode:
			if v.Value == nil || v.Value.GetToken() == nil {
				return nil
			}
			target, ok := p.anchors[v.Value.GetToken().Value]
			if !ok {
				return nil
			}
			n = target
		default:
			return n
		}
	}
	return nil
}

func (p *parseState) isMapping(n ast.Node) bool {
	switch n.(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
		return true
	}
	return false
}

var (
	durationType = reflect.TypeFor[Duration]()
	sizeType     = reflect.TypeFor[Size]()
	instanceType = reflect.TypeFor[spec.Instance]()
)

// check verifies that n has the shape of t: mappings only with known keys,
// lists where lists belong, scalars where scalars belong. Scalar values
// themselves are checked by the decoder and by build.
func (p *parseState) check(n ast.Node, t reflect.Type, path string, depth int) {
	if depth > maxDepth {
		p.structErr(nodePos(n), path, "nested too deeply")
		return
	}
	orig := n
	n = p.resolve(n)
	if n == nil {
		return // an unknown alias, reported by index
	}
	if _, ok := n.(*ast.NullNode); ok {
		return
	}
	key := checkKey{n, t}
	if p.checked[key] {
		return
	}
	p.checked[key] = true
	at := nodePos(n)
	if _, ok := orig.(*ast.AliasNode); ok {
		at = nodePos(orig)
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == durationType || t == sizeType:
		if !isScalar(n) {
			p.structErr(at, path, fmt.Sprintf("expected %s, got %s", typeDesc(t), nodeDesc(n)))
		}
	case t == instanceType:
		switch {
		case p.isMapping(n) && isFlowHostPort(n):
			// [a:1] inside {...} is the mapping {a: 1} to YAML.
			p.structErr(at, path, fmt.Sprintf("expected %s, got the mapping {%s}: inside {...} quote addresses, as in [\"%s\"]",
				typeDesc(t), nodeText(n), nodeText(n)))
		case p.isMapping(n):
			p.checkStruct(n, reflect.TypeFor[spec.InstanceFields](), path, depth)
		case !isStringScalar(n):
			p.structErr(at, path, fmt.Sprintf("expected %s, got %s", typeDesc(t), nodeDesc(n)))
		}
	case t.Kind() == reflect.Struct:
		if !p.isMapping(n) {
			p.structErr(at, path, fmt.Sprintf("expected a mapping, got %s", nodeDesc(n)))
			return
		}
		p.checkStruct(n, t, path, depth)
	case t.Kind() == reflect.Slice:
		seq, ok := n.(*ast.SequenceNode)
		if !ok {
			p.structErr(at, path, fmt.Sprintf("expected a list, got %s", nodeDesc(n)))
			return
		}
		for i, v := range seq.Values {
			p.check(v, t.Elem(), path+"["+strconv.Itoa(i)+"]", depth+1)
		}
	case t.Kind() == reflect.Map:
		if !p.isMapping(n) {
			p.structErr(at, path, fmt.Sprintf("expected a mapping, got %s", nodeDesc(n)))
			return
		}
		for _, mv := range pairs(n) {
			if mv.Key == nil {
				continue
			}
			if mv.Key.IsMergeKey() {
				p.structErr(nodePos(mv.Key), path, "merge keys (<<) are not supported here")
				continue
			}
			p.check(mv.Value, t.Elem(), join(path, keyText(mv.Key)), depth+1)
		}
	default:
		switch {
		case t.Kind() == reflect.String && p.isMapping(n) && isFlowPair(n):
			// [orders:read] inside {...} is the mapping {orders: read}.
			p.structErr(at, path, fmt.Sprintf("expected a string, got the mapping {%s}: inside {...} quote values with a colon, as in \"%s\"",
				nodeText(n), nodeText(n)))
		case !isScalar(n):
			p.structErr(at, path, fmt.Sprintf("expected %s, got %s", typeDesc(t), nodeDesc(n)))
		}
	}
}

// checkStruct checks the keys of mapping n against the fields of t.
func (p *parseState) checkStruct(n ast.Node, t reflect.Type, path string, depth int) {
	fields := yamlFields(t)
	for _, mv := range pairs(n) {
		if mv.Key == nil {
			continue
		}
		if mv.Key.IsMergeKey() {
			if path == "" {
				p.structErr(nodePos(mv.Key), "<<", "merge keys are not supported at the top level")
				continue
			}
			p.checkMerge(mv.Value, t, path, depth+1)
			continue
		}
		key := keyText(mv.Key)
		child := join(path, key)
		f, ok := fields[key]
		if !ok {
			if path == "" && strings.HasPrefix(key, "x-") {
				continue // extension keys, e.g. to hold anchors
			}
			p.structErr(nodePos(mv.Key), child, unknownKey(key, t))
			continue
		}
		p.check(mv.Value, f.Type, child, depth+1)
	}
}

// checkMerge checks the mappings merged in by "<<: *a" or "<<: [*a, *b]".
func (p *parseState) checkMerge(v ast.Node, t reflect.Type, path string, depth int) {
	if depth > maxDepth {
		return
	}
	orig := v
	v = p.resolve(v)
	switch {
	case v == nil:
		// an unknown alias, reported by index
	case p.isMapping(v):
		key := checkKey{v, t}
		if !p.checked[key] {
			p.checked[key] = true
			p.checkStruct(v, t, path, depth)
		}
	default:
		seq, ok := v.(*ast.SequenceNode)
		if !ok {
			p.structErr(nodePos(orig), path, fmt.Sprintf("merge keys (<<) need a mapping or a list of mappings, got %s", nodeDesc(v)))
			p.noDecode = true
			return
		}
		for _, item := range seq.Values {
			p.checkMerge(item, t, path, depth+1)
		}
	}
}

func (p *parseState) structErr(at pos, path, msg string) {
	p.structErrs = append(p.structErrs, path)
	p.add(at, path, msg)
}

// decode decodes the document with goccy/go-yaml's strict decoder, entry by
// entry (each top-level setting, each upstream, each route), so that one
// bad entry does not hide the problems of the others.
func (p *parseState) decode(body ast.Node) bool {
	dec := yaml.NewDecoder(bytes.NewReader(nil), yaml.Strict(), yaml.AllowDuplicateMapKey())
	// Decoding the whole body once registers every anchor with the decoder,
	// so aliases resolve when the entries are decoded one by one.
	var all any
	if err := dec.DecodeFromNode(body, &all); err != nil {
		p.yamlError(err, "")
		return false
	}
	fields := yamlFields(reflect.TypeFor[File]())
	fv := reflect.ValueOf(&p.file).Elem()
	done := map[string]bool{}
	for _, mv := range pairs(p.resolve(body)) {
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
			p.decodeUpstreams(dec, mv.Value)
		case "routes":
			p.decodeRoutes(dec, mv.Value)
		default:
			if p.hasStructErr(key) {
				continue
			}
			v := reflect.New(f.Type)
			if p.decodeEntry(dec, mv.Value, v.Interface(), key) {
				fv.FieldByIndex(f.Index).Set(v.Elem())
			}
		}
	}
	return true
}

func (p *parseState) decodeUpstreams(dec *yaml.Decoder, n ast.Node) {
	n = p.resolve(n)
	if !p.isMapping(n) {
		return
	}
	p.file.Upstreams = map[string]spec.Upstream{}
	for _, mv := range pairs(n) {
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
		if !p.hasStructErr(path) && !p.decodeEntry(dec, mv.Value, &u, path) {
			u = spec.Upstream{}
		}
		p.file.Upstreams[name] = u
	}
}

func (p *parseState) decodeRoutes(dec *yaml.Decoder, n ast.Node) {
	seq, ok := p.resolve(n).(*ast.SequenceNode)
	if !ok {
		return
	}
	for i, v := range seq.Values {
		path := "routes[" + strconv.Itoa(i) + "]"
		var r spec.Route
		if _, empty := p.resolve(v).(*ast.NullNode); empty {
			p.errf(path, "is empty: expected a route (a mapping with name, path or path_prefix, and upstream)")
			p.structErrs = append(p.structErrs, path)
		} else if !p.hasStructErr(path) && !p.decodeEntry(dec, v, &r, path) {
			r = spec.Route{}
		}
		// Every entry keeps its index, so paths name the file's entries.
		p.file.Routes = append(p.file.Routes, r)
	}
}

// decodeEntry decodes n into v and reports whether that worked.
func (p *parseState) decodeEntry(dec *yaml.Decoder, n ast.Node, v any, path string) bool {
	return p.decodeInto(dec, n, reflect.ValueOf(v).Elem(), path, 0)
}

// decodeInto decodes n into dst. A mapping for a struct is decoded key by
// key, so that every bad value is reported, not only the decoder's first;
// everything else, and mappings with merge keys, go to the decoder whole.
func (p *parseState) decodeInto(dec *yaml.Decoder, n ast.Node, dst reflect.Value, path string, depth int) bool {
	n = p.resolve(n)
	if n == nil || depth > maxDepth {
		return false
	}
	if _, ok := n.(*ast.NullNode); ok {
		return true // the zero value
	}
	t := dst.Type()
	st := t
	if st.Kind() == reflect.Pointer {
		st = st.Elem()
	}
	if st.Kind() == reflect.Struct && st != instanceType && p.isMapping(n) && !hasMergeKey(n) {
		target := reflect.New(st)
		fields := yamlFields(st)
		ok := true
		for _, mv := range pairs(n) {
			f, known := fields[keyText(mv.Key)]
			if !known {
				continue // reported by check
			}
			if !p.decodeInto(dec, mv.Value, target.Elem().FieldByIndex(f.Index), join(path, keyText(mv.Key)), depth+1) {
				ok = false
			}
		}
		if t.Kind() == reflect.Pointer {
			dst.Set(target)
		} else {
			dst.Set(target.Elem())
		}
		return ok
	}
	v := reflect.New(t)
	if err := dec.DecodeFromNode(n, v.Interface()); err != nil {
		p.yamlError(err, path)
		p.structErrs = append(p.structErrs, path)
		return false
	}
	dst.Set(v.Elem())
	return true
}

// isFlowHostPort reports whether n looks like host:port read as a
// one-pair flow mapping {host: port}.
func isFlowHostPort(n ast.Node) bool {
	ps := pairs(n)
	if len(ps) != 1 || ps[0].Key == nil || ps[0].Key.IsMergeKey() {
		return false
	}
	if _, known := yamlFields(reflect.TypeFor[spec.InstanceFields]())[keyText(ps[0].Key)]; known {
		return false
	}
	_, isInt := spec.UnwrapTag(ps[0].Value).(*ast.IntegerNode)
	return isInt
}

// isFlowPair reports whether n is a one-pair mapping of scalars without a
// space after the colon, as "a:b" in a flow collection is read.
func isFlowPair(n ast.Node) bool {
	ps := pairs(n)
	return len(ps) == 1 && ps[0].Key != nil && !ps[0].Key.IsMergeKey() && ps[0].Value != nil &&
		isScalar(spec.UnwrapTag(ps[0].Value)) && nodeText(n) != ""
}

// nodeText is "key:value" for a one-pair mapping.
func nodeText(n ast.Node) string {
	ps := pairs(n)
	if len(ps) != 1 || ps[0].Value == nil || ps[0].Value.GetToken() == nil {
		return ""
	}
	return keyText(ps[0].Key) + ":" + ps[0].Value.GetToken().Value
}

func hasMergeKey(n ast.Node) bool {
	for _, mv := range pairs(n) {
		if mv.Key != nil && mv.Key.IsMergeKey() {
			return true
		}
	}
	return false
}

// yamlFields returns t's fields by yaml key name.
func yamlFields(t reflect.Type) map[string]reflect.StructField {
	out := map[string]reflect.StructField{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		out[name] = f
	}
	return out
}

func unknownKey(key string, t reflect.Type) string {
	fields := yamlFields(t)
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	slices.Sort(names)
	best, bestDist := "", 3
	for _, name := range names {
		if d := editDistance(strings.ToLower(key), name); d < bestDist {
			best, bestDist = name, d
		}
	}
	if best != "" && bestDist <= max(1, len(key)/3) {
		return fmt.Sprintf("unknown key (did you mean %s?)", best)
	}
	return fmt.Sprintf("unknown key (valid: %s)", strings.Join(names, ", "))
}

// editDistance is the Levenshtein distance of a and b.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// pairs returns the key/value pairs of a mapping node.
func pairs(n ast.Node) []*ast.MappingValueNode {
	switch n := n.(type) {
	case *ast.MappingNode:
		return n.Values
	case *ast.MappingValueNode:
		return []*ast.MappingValueNode{n}
	}
	return nil
}

// keyText returns the text of a mapping key.
func keyText(k ast.Node) string {
	for range maxDepth {
		switch v := k.(type) {
		case nil:
			return ""
		case *ast.TagNode:
			k = v.Value
			continue
		case *ast.AnchorNode:
			k = v.Value
			continue
		case *ast.MappingKeyNode:
			k = v.Value
			continue
		case *ast.StringNode:
			return v.Value
		}
		break
	}
	if k == nil {
		return ""
	}
	if tk := k.GetToken(); tk != nil && isScalar(k) {
		return tk.Value
	}
	return k.String()
}

// join appends a key to a path: "upstreams" + "users" is upstreams.users;
// keys that are not plain words are quoted: upstreams["a.b"].
func join(path, key string) string {
	plain := key != ""
	for _, c := range key {
		if !(c == '_' || c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			plain = false
			break
		}
	}
	switch {
	case !plain:
		return path + "[" + strconv.Quote(key) + "]"
	case path == "":
		return key
	}
	return path + "." + key
}

// parentPath strips the last key or index from path.
func parentPath(path string) string {
	if strings.HasSuffix(path, "\"]") {
		// Find the "[" that opens a quoted key running to the end.
		for i := strings.LastIndex(path, "[\""); i >= 0; i = strings.LastIndex(path[:i], "[\"") {
			if q, err := strconv.QuotedPrefix(path[i+1:]); err == nil && i+1+len(q)+1 == len(path) {
				return path[:i]
			}
		}
	}
	if strings.HasSuffix(path, "]") {
		if i := strings.LastIndexByte(path, '['); i >= 0 {
			return path[:i]
		}
	}
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[:i]
	}
	return ""
}

// nodePos returns where n starts: the first key of a block mapping, not
// its colon.
func nodePos(n ast.Node) pos {
	for range maxDepth {
		switch v := n.(type) {
		case nil:
			return pos{}
		case *ast.MappingNode:
			if !v.IsFlowStyle && len(v.Values) > 0 && v.Values[0].Key != nil {
				n = v.Values[0].Key
				continue
			}
		case *ast.MappingValueNode:
			if v.Key != nil {
				n = v.Key
				continue
			}
		}
		tk := n.GetToken()
		if tk == nil {
			return pos{}
		}
		return pos{tk.Position.Line, tk.Position.Column}
	}
	return pos{}
}

func isScalar(n ast.Node) bool {
	switch n.(type) {
	case *ast.MappingNode, *ast.MappingValueNode, *ast.SequenceNode, *ast.MappingKeyNode:
		return false
	}
	return true
}

func isStringScalar(n ast.Node) bool {
	switch n.(type) {
	case *ast.StringNode, *ast.LiteralNode:
		return true
	}
	return false
}

// nodeDesc describes a node for "expected X, got Y".
func nodeDesc(n ast.Node) string {
	switch v := n.(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	case *ast.StringNode:
		return strconv.Quote(v.Value)
	case *ast.NullNode:
		return "null"
	}
	if tk := n.GetToken(); tk != nil {
		return tk.Value
	}
	return article(n.Type().YAMLName())
}

// tokenDesc describes the value of a scalar token.
func tokenDesc(value string, t reflect.Type) string {
	if t != nil && t.Kind() == reflect.String {
		return strconv.Quote(value)
	}
	if value == "" {
		return "an empty value"
	}
	return value
}

// typeDesc describes what a Go type accepts.
func typeDesc(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t {
	case durationType:
		return `a duration such as "5s"`
	case sizeType:
		return `a size such as 1048576 or "1MiB"`
	case instanceType:
		return `"host:port" or a mapping with addr`
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "a mapping"
	}
	return t.String()
}

func article(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case 'a', 'e', 'i', 'o', 'u':
		return "an " + s
	}
	return "a " + s
}
