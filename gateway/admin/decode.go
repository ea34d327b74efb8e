package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strings"
)

// MaxBody bounds an admin request body.
const MaxBody = 1 << 20

// DecodeError is a request body that is not the object expected; Pointer
// is the RFC 6901 pointer of the offending member, relative to the body.
type DecodeError struct {
	Pointer string
	Message string
	// TooLarge: the body is over MaxBody (answered 413, not 400).
	TooLarge bool
}

// status is the API's answer to e.
func (e *DecodeError) status() int {
	if e != nil && e.TooLarge {
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusBadRequest
}

func (e *DecodeError) Error() string {
	if e.Pointer == "" {
		return e.Message
	}
	return e.Pointer + ": " + e.Message
}

// DecodeStrict decodes one JSON value into v, refusing unknown members at
// any depth (also inside types with their own UnmarshalJSON, which
// encoding/json does not check), members given twice (encoding/json keeps
// the last one silently, and matches names in any case to one field),
// trailing data, and bodies over MaxBody.
func DecodeStrict(data []byte, v any) error {
	if len(data) > MaxBody {
		return &DecodeError{Message: fmt.Sprintf("body over %d bytes", MaxBody), TooLarge: true}
	}
	var raw any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return &DecodeError{Message: "not JSON: " + err.Error()}
	}
	if dec.More() {
		return &DecodeError{Message: "trailing data after the JSON value"}
	}
	if ptr, ok := repeated(data); ok {
		return &DecodeError{Pointer: ptr, Message: "member given twice"}
	}
	if ptr, msg, ok := stray(raw, reflect.TypeOf(v), ""); ok {
		return &DecodeError{Pointer: ptr, Message: msg}
	}
	dec = json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return &DecodeError{Pointer: fieldPointer(te.Field), Message: fmt.Sprintf("want %s, not %s", te.Type, te.Value)}
		}
		return &DecodeError{Message: err.Error()}
	}
	return nil
}

// fieldPointer turns encoding/json's "a.b.c" into /a/b/c.
func fieldPointer(f string) string {
	if f == "" {
		return ""
	}
	var b strings.Builder
	for _, s := range strings.Split(f, ".") {
		b.WriteString("/" + escapePointer(s))
	}
	return b.String()
}

func escapePointer(s string) string { return strings.NewReplacer("~", "~0", "/", "~1").Replace(s) }

// repeated returns the pointer of the first member repeated within one
// object of data, valid JSON.
func repeated(data []byte) (string, bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var walk func(ptr string) (string, bool)
	walk = func(ptr string) (string, bool) {
		tok, err := dec.Token()
		if err != nil {
			return "", false
		}
		switch tok {
		case json.Delim('{'):
			seen := map[string]bool{}
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return "", false
				}
				key, _ := k.(string)
				p := ptr + "/" + escapePointer(key)
				if seen[key] {
					return p, true
				}
				seen[key] = true
				if p, dup := walk(p); dup {
					return p, true
				}
			}
			_, _ = dec.Token()
		case json.Delim('['):
			for i := 0; dec.More(); i++ {
				if p, dup := walk(fmt.Sprintf("%s/%d", ptr, i)); dup {
					return p, true
				}
			}
			_, _ = dec.Token()
		}
		return "", false
	}
	return walk("")
}

// stray returns the pointer of the first member of v that t has no field
// for, or that names a field another member named already (in another
// case), and what is wrong with it.
func stray(v any, t reflect.Type, ptr string) (string, string, bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			return "", "", false // another form (a string for an Instance, a Duration)
		}
		fields := jsonFields(t)
		claimed := map[string]bool{}
		for _, k := range slices.Sorted(maps.Keys(m)) {
			name := k
			ft, ok := fields[k]
			if !ok {
				for n, f := range fields { // encoding/json matches names case-insensitively
					if strings.EqualFold(n, k) {
						name, ft, ok = n, f, true
						break
					}
				}
			}
			if !ok {
				return ptr + "/" + escapePointer(k), "unknown field", true
			}
			if claimed[name] {
				return ptr + "/" + escapePointer(name), fmt.Sprintf("member given twice (as %q too)", k), true
			}
			claimed[name] = true
			if p, msg, bad := stray(m[k], ft, ptr+"/"+escapePointer(k)); bad {
				return p, msg, true
			}
		}
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok {
			return "", "", false
		}
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if p, msg, bad := stray(m[k], t.Elem(), ptr+"/"+escapePointer(k)); bad {
				return p, msg, true
			}
		}
	case reflect.Slice, reflect.Array:
		a, ok := v.([]any)
		if !ok {
			return "", "", false
		}
		for i, e := range a {
			if p, msg, bad := stray(e, t.Elem(), fmt.Sprintf("%s/%d", ptr, i)); bad {
				return p, msg, true
			}
		}
	}
	return "", "", false
}

// jsonFields maps a struct's JSON member names to their types, embedded
// structs' fields included.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if name == "-" && tag == "-" {
			continue
		}
		if f.Anonymous && name == "" {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				maps.Copy(out, jsonFields(ft))
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}
