package yamldoc

import (
	"cmp"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"

	"github.com/gatescale/gatescale/internal/fileerr"
)

// MaxDepth bounds how deeply a document may nest. A configuration never
// comes near it; a hostile or broken one ([[[[...) is refused before the
// recursive check and decoder see it.
const MaxDepth = 64

// Pos is a 1-based line and column; Line 0 means unknown.
type Pos struct{ Line, Column int }

// Schema is what a format adds to the generic rules. Every field is
// optional.
type Schema struct {
	// Check is asked first about each value Check visits, with the Go type
	// it must decode into. It returns true when it has checked n itself
	// (reporting with ShapeError), false to apply the generic rules. A
	// format uses it for its own types that read more than one kind of
	// node (a "host:port" string or a mapping, say).
	Check func(d *Doc, n ast.Node, t reflect.Type, path string, depth int) bool
	// Describe says what a type accepts, for "expected X, got Y" (e.g. `a
	// duration such as "5s"`); "" falls back to the kind ("a string").
	Describe func(t reflect.Type) string
	// IgnoreKey reports keys accepted without a field, e.g. extension
	// keys that only hold anchors.
	IgnoreKey func(path, key string) bool
	// Merge is asked about each merge key (<<) before it is followed, with
	// the path and type of the mapping holding it; it returns false to
	// refuse it, having reported why with ShapeError. Without it, merge
	// keys are followed everywhere.
	Merge func(d *Doc, key ast.Node, path string, t reflect.Type) bool
	// Errors translates errors of the format's own UnmarshalYAML methods
	// into *ValueError or ErrWrongKind (and returns other errors as they
	// are), for formats whose types predate those.
	Errors func(err error) error
}

// ValueError is what an UnmarshalYAML method returns for a bad scalar: it
// is reported at Node's position with Msg.
type ValueError struct {
	Node ast.Node
	Msg  string
}

func (e *ValueError) Error() string { return e.Msg }

// ErrWrongKind is what an UnmarshalYAML method returns for a node of the
// wrong kind (a list for a duration). Check has reported it already, at
// its place and with what was expected.
var ErrWrongKind = errors.New("wrong kind of YAML node")

// Doc is one parsed document, its index, and the problems found in it so
// far. Its methods are not safe for concurrent use.
type Doc struct {
	name   string
	schema Schema
	body   ast.Node

	errs []*fileerr.Error
	seen map[fileerr.Error]bool

	// anchors by name, for following aliases.
	anchors map[string]ast.Node
	// keyPos and valPos are where the key and the value of a path are;
	// byPos maps a token position back to its path.
	keyPos, valPos map[string]Pos
	byPos          map[Pos]string
	scalar         map[string]bool // paths whose value is a scalar
	// noDecode is set for errors the decoder would report again for the
	// whole document: aliases without anchors, bad merge keys.
	noDecode bool
	// checked avoids checking a node aliased many times more than once.
	checked map[checkKey]bool
	// shapeErrs are the paths with structural or decoding errors; their
	// entries are not decoded further.
	shapeErrs []string

	dec      *yaml.Decoder
	decReady int // 0: not prepared, 1: ready, -1: the document does not decode
}

type checkKey struct {
	node ast.Node
	typ  reflect.Type
}

// Parse parses data and indexes it. name is the file name of the errors.
// Syntax errors, a second document, duplicate keys, aliases without an
// anchor and too deep nesting are reported (see Err); Body is nil after a
// syntax error and for a document without content, which the format may
// accept or refuse.
func Parse(name string, data []byte, schema Schema) *Doc {
	d := &Doc{
		name: name, schema: schema,
		anchors: map[string]ast.Node{},
		keyPos:  map[string]Pos{}, valPos: map[string]Pos{}, byPos: map[Pos]string{},
		scalar: map[string]bool{}, checked: map[checkKey]bool{},
	}
	f, err := parser.ParseBytes(data, 0, parser.AllowDuplicateMapKey())
	if err != nil {
		d.yamlError(err, "")
		return d
	}
	var body ast.Node
	for _, doc := range f.Docs {
		if doc == nil || doc.Body == nil {
			continue
		}
		if _, isNull := UnwrapTag(doc.Body).(*ast.NullNode); isNull {
			continue
		}
		if body != nil {
			d.Add(NodePos(doc.Body), "", "only one YAML document is allowed per file")
			return d
		}
		body = doc.Body
	}
	if body == nil {
		return d
	}
	d.body = body
	d.valPos[""] = NodePos(body)
	d.index(body, "", 0)
	return d
}

// Name returns the file name given to Parse.
func (d *Doc) Name() string { return d.name }

// Body returns the document's top node, or nil (see Parse).
func (d *Doc) Body() ast.Node { return d.body }

// ErrorCount returns how many problems have been reported.
func (d *Doc) ErrorCount() int { return len(d.errs) }

// Err returns every problem reported, sorted by position, as an errors.Join
// of *fileerr.Error; nil if there is none.
func (d *Doc) Err() error {
	if len(d.errs) == 0 {
		return nil
	}
	return JoinSorted(d.errs)
}

// JoinSorted sorts errs by position and joins them into one error.
func JoinSorted(errs []*fileerr.Error) error {
	SortByPos(errs)
	out := make([]error, len(errs))
	for i, e := range errs {
		out[i] = e
	}
	return errors.Join(out...)
}

// SortByPos sorts errs by line, then column, keeping the order of errors at
// the same place.
func SortByPos(errs []*fileerr.Error) {
	slices.SortStableFunc(errs, func(a, b *fileerr.Error) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
}

// Add reports msg at at, once: the same problem found twice (a node
// aliased twice, say) is reported once.
func (d *Doc) Add(at Pos, path, msg string) {
	msg = strings.ReplaceAll(strings.TrimSpace(msg), "\n", " ")
	e := fileerr.Error{File: d.name, Line: at.Line, Column: at.Column, Path: path, Message: msg}
	if d.seen == nil {
		d.seen = map[fileerr.Error]bool{}
	}
	if d.seen[e] {
		return
	}
	d.seen[e] = true
	d.errs = append(d.errs, &e)
}

// Errorf reports a problem with the value at path, or with its absence: a
// missing value is reported at its nearest present parent (see Pos).
func (d *Doc) Errorf(path, format string, args ...any) {
	d.Add(d.Pos(path), path, fmt.Sprintf(format, args...))
}

// KeyErrorf reports a problem with the key of path (a duplicate name, say).
func (d *Doc) KeyErrorf(path, format string, args ...any) {
	at, ok := d.keyPos[path]
	if !ok {
		at = d.Pos(path)
	}
	d.Add(at, path, fmt.Sprintf(format, args...))
}

// ShapeError reports that the value at path has the wrong shape (an
// unknown key, a list for a mapping). The entry holding it is not decoded.
func (d *Doc) ShapeError(at Pos, path, msg string) {
	d.shapeErrs = append(d.shapeErrs, path)
	d.Add(at, path, msg)
}

// HasShapeError reports whether path, or a value below it, has a shape or
// decoding error.
func (d *Doc) HasShapeError(path string) bool {
	for _, p := range d.shapeErrs {
		if IsUnder(p, path) {
			return true
		}
	}
	return false
}

// Pos returns the position of path's value, else of its key, else (path is
// absent) that of its nearest present parent: at the parent's key if it has
// one (the "users:" of an upstream), else at its value.
func (d *Doc) Pos(path string) Pos {
	if at, ok := d.valPos[path]; ok {
		return at
	}
	if at, ok := d.keyPos[path]; ok {
		return at
	}
	path = ParentPath(path)
	for range 1000 {
		if at, ok := d.keyPos[path]; ok {
			return at
		}
		if at, ok := d.valPos[path]; ok {
			return at
		}
		if path == "" {
			break
		}
		path = ParentPath(path)
	}
	return Pos{1, 1}
}

// ValuePos returns where the value of path is written.
func (d *Doc) ValuePos(path string) (Pos, bool) {
	at, ok := d.valPos[path]
	return at, ok
}

// KeyPos returns where the key of path is written (list items have none).
func (d *Doc) KeyPos(path string) (Pos, bool) {
	at, ok := d.keyPos[path]
	return at, ok
}

// Present reports whether path's key is written in the document (not
// merged from an anchor, not absent).
func (d *Doc) Present(path string) bool {
	_, ok := d.keyPos[path]
	return ok
}

// IsScalarAt reports whether the value written at path is a scalar.
func (d *Doc) IsScalarAt(path string) bool { return d.scalar[path] }

// yamlError reports an error from the YAML parser or decoder; entry is the
// path being decoded, for errors that do not carry a position.
func (d *Doc) yamlError(err error, entry string) {
	if d.schema.Errors != nil {
		err = d.schema.Errors(err)
	}
	var ve *ValueError
	if errors.As(err, &ve) {
		at := NodePos(ve.Node)
		d.Add(at, d.pathAt(at, ve.Node, entry), ve.Msg)
		return
	}
	if errors.Is(err, ErrWrongKind) {
		if !d.HasShapeError(entry) {
			d.Errorf(entry, "has a value of the wrong kind")
		}
		return
	}
	var ye yaml.Error
	if !errors.As(err, &ye) || ye.GetToken() == nil {
		d.Errorf(entry, "%s", firstLine(err.Error()))
		return
	}
	tk := ye.GetToken()
	at := Pos{tk.Position.Line, tk.Position.Column}
	msg := ye.GetMessage()
	var (
		te *yaml.TypeError
		oe *yaml.OverflowError
		ue *yaml.UnexpectedNodeTypeError
	)
	switch {
	case errors.As(err, &te):
		msg = fmt.Sprintf("expected %s, got %s", d.describe(te.DstType), tokenDesc(tk.Value, te.SrcType))
	case errors.As(err, &oe):
		msg = fmt.Sprintf("%s is out of range for %s", oe.SrcNum, d.describe(oe.DstType))
	case errors.As(err, &ue):
		msg = fmt.Sprintf("expected %s, got %s", article(ue.Expected.YAMLName()), article(ue.Actual.YAMLName()))
	}
	path, ok := d.byPos[at]
	if !ok {
		path = entry
	}
	d.Add(at, path, msg)
}

// pathAt returns the path of the node n at at.
func (d *Doc) pathAt(at Pos, n ast.Node, entry string) string {
	if path, ok := d.byPos[at]; ok {
		return path
	}
	if n != nil {
		if tk := n.GetToken(); tk != nil {
			if path, ok := d.byPos[Pos{tk.Position.Line, tk.Position.Column}]; ok {
				return path
			}
		}
	}
	return entry
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

// index records the position and path of every node, every anchor, and
// duplicate keys. It does not follow aliases.
func (d *Doc) index(n ast.Node, path string, depth int) {
	if n == nil {
		return
	}
	if depth > MaxDepth {
		d.Add(NodePos(n), path, "nested too deeply")
		d.noDecode = true
		return
	}
	d.byPosOnce(NodePos(n), path)
	if tk := n.GetToken(); tk != nil {
		d.byPosOnce(Pos{tk.Position.Line, tk.Position.Column}, path)
	}
	switch n := n.(type) {
	case *ast.DocumentNode:
		d.index(n.Body, path, depth+1)
	case *ast.TagNode:
		d.index(n.Value, path, depth+1)
	case *ast.AnchorNode:
		if n.Name != nil && n.Name.GetToken() != nil {
			d.anchors[n.Name.GetToken().Value] = n.Value
		}
		d.index(n.Value, path, depth+1)
	case *ast.AliasNode:
		name := ""
		if n.Value != nil && n.Value.GetToken() != nil {
			name = n.Value.GetToken().Value
		}
		if _, ok := d.anchors[name]; !ok {
			msg := fmt.Sprintf("alias *%s does not refer to an anchor (&%s) defined before it", name, name)
			if name == "" || name[0] == '.' {
				msg = fmt.Sprintf("*%s is read as a YAML alias: quote it, as in \"*%s\"", name, name)
			}
			d.Add(NodePos(n), path, msg)
			d.noDecode = true
		}
	case *ast.SequenceNode:
		for i, v := range n.Values {
			child := path + "[" + strconv.Itoa(i) + "]"
			d.setPaths(child, Pos{}, v)
			d.index(v, child, depth+1)
		}
	case *ast.MappingNode, *ast.MappingValueNode:
		first := map[string]Pos{}
		for _, mv := range Pairs(n) {
			if mv.Key == nil {
				continue
			}
			if mv.Key.IsMergeKey() {
				d.index(mv.Value, path, depth+1)
				continue
			}
			key := KeyText(mv.Key)
			child := Join(path, key)
			kp := NodePos(mv.Key)
			if at, dup := first[key]; dup {
				d.Add(kp, child, fmt.Sprintf("duplicate key, first defined at line %d", at.Line))
				// The entry holding the duplicate is not decoded further; a
				// duplicate upstream name leaves the first one alone.
				d.shapeErrs = append(d.shapeErrs, path)
				continue
			}
			first[key] = kp
			d.setPaths(child, kp, mv.Value)
			d.byPosOnce(kp, child)
			d.index(mv.Value, child, depth+1)
		}
	}
}

func (d *Doc) setPaths(child string, kp Pos, v ast.Node) {
	if kp != (Pos{}) {
		d.keyPos[child] = kp
	}
	if v != nil {
		d.valPos[child] = NodePos(v)
		if IsScalar(UnwrapTag(v)) {
			d.scalar[child] = true
		}
	}
}

func (d *Doc) byPosOnce(at Pos, path string) {
	if _, ok := d.byPos[at]; !ok {
		d.byPos[at] = path
	}
}

// Resolve returns the node n stands for: tags and anchors stripped, aliases
// followed. It returns nil for an alias to an unknown anchor.
func (d *Doc) Resolve(n ast.Node) ast.Node {
	for range MaxDepth {
		switch v := n.(type) {
		case *ast.TagNode:
			n = v.Value
		case *ast.AnchorNode:
			n = v.Value
		case *ast.AliasNode:
			if v.Value == nil || v.Value.GetToken() == nil {
				return nil
			}
			target, ok := d.anchors[v.Value.GetToken().Value]
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

// Locator returns a Doc that shares d's index of positions but collects
// errors of its own: for problems found after parsing (building what the
// file names), reported at their place without touching d.
func (d *Doc) Locator() *Doc {
	c := &Doc{name: d.name, schema: d.schema, body: d.body, anchors: d.anchors, keyPos: d.keyPos, valPos: d.valPos,
		byPos: d.byPos, scalar: d.scalar, shapeErrs: d.shapeErrs}
	return c
}
