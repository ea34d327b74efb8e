package spec

import (
	"errors"
	"github.com/gatescale/gatescale/internal/yamldoc"
	"strconv"
	"strings"
)

// FieldError is one problem with one field of a Config.
type FieldError struct {
	// Path is the field's path: keys joined by dots, list indexes in
	// brackets, keys that are not plain words quoted: routes[0].auth.methods[1],
	// upstreams["a.b"].instances[0]. Empty for the document as a whole.
	Path string
	// AtKey says the problem is with the key itself (a duplicate or
	// unknown name), not its value; a file reports it at the key.
	AtKey bool
	// Message says what is wrong, without the path.
	Message string
}

// Error formats the problem as "path: message".
func (e *FieldError) Error() string {
	if e.Path == "" {
		return e.Message
	}
	return e.Path + ": " + e.Message
}

// Pointer returns the RFC 6901 JSON pointer of the field:
// routes[0].auth.methods[1] is /routes/0/auth/methods/1.
func (e *FieldError) Pointer() string { return Pointer(e.Path) }

// Pointer converts a field path to its JSON pointer.
func Pointer(path string) string {
	var b strings.Builder
	for _, seg := range Segments(path) {
		b.WriteByte('/')
		b.WriteString(strings.NewReplacer("~", "~0", "/", "~1").Replace(seg))
	}
	return b.String()
}

// Segments splits a field path into its keys and indexes.
func Segments(path string) []string {
	var out []string
	for path != "" {
		switch path[0] {
		case '.':
			path = path[1:]
		case '[':
			if len(path) > 1 && path[1] == '"' {
				if q, err := strconv.QuotedPrefix(path[1:]); err == nil {
					s, _ := strconv.Unquote(q)
					out = append(out, s)
					path = strings.TrimPrefix(path[1+len(q):], "]")
					continue
				}
			}
			end := strings.IndexByte(path, ']')
			if end < 0 {
				return append(out, path[1:])
			}
			out = append(out, path[1:end])
			path = path[end+1:]
		default:
			end := strings.IndexAny(path, ".[")
			if end < 0 {
				end = len(path)
			}
			out = append(out, path[:end])
			path = path[end:]
		}
	}
	return out
}

// Join appends a key to a path: "upstreams" + "users" is upstreams.users;
// keys that are not plain words are quoted: upstreams["a.b"]. It is the
// file's path syntax (yamldoc), so a FieldError's path finds its position.
func Join(path, key string) string { return yamldoc.Join(path, key) }

// Index appends a list index to a path: routes + 2 is routes[2].
func Index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// FieldErrors returns the *FieldError leaves of err (an errors.Join tree),
// and the errors that are not field errors.
func FieldErrors(err error) (fields []*FieldError, other []error) {
	for _, e := range Leaves(err) {
		var fe *FieldError
		if errors.As(e, &fe) {
			fields = append(fields, fe)
		} else {
			other = append(other, e)
		}
	}
	return fields, other
}

// Leaves returns the errors err joins (errors.Join, at any depth), or err
// itself.
func Leaves(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, Leaves(e)...)
		}
		return out
	}
	if err == nil {
		return nil
	}
	return []error{err}
}

func joinErrors(errs []error) error { return errors.Join(errs...) }
