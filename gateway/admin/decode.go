package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
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
}

func (e *DecodeError) Error() string {
	if e.Pointer == "" {
		return e.Message
	}
	return e.Pointer + ": " + e.Message
}

// DecodeStrict decodes one JSON value into v, refusing unknown members at
// any depth (also inside types with their own UnmarshalJSON, which
// encoding/json does not check), trailing data, and bodies over MaxBody.
func DecodeStrict(data []byte, v any) error {
	if len(data) > MaxBody {
		return &DecodeError{Message: fmt.Sprintf("body over %d bytes", MaxBody)}
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
	if ptr, ok := stray(raw, reflect.TypeOf(v), ""); ok {
		return &DecodeError{Pointer: ptr, Message: "unknown field"}
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

// stray returns the pointer of the first member of v that t has no field
// for.
func stray(v any, t reflect.Type, ptr string) (string, bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			return "", false // another form (a string for an Instance, a Duration)
		}
		fields := jsonFields(t)
		for _, k := range slices.Sorted(maps.Keys(m)) {
			ft, ok := fields[k]
			if !ok {
				for name, f := range fields { // encoding/json matches names case-insensitively
					if strings.EqualFold(name, k) {
						ft, ok = f, true
						break
					}
				}
			}
			if !ok {
				return ptr + "/" + escapePointer(k), true
			}
			if p, bad := stray(m[k], ft, ptr+"/"+escapePointer(k)); bad {
				return p, true
			}
		}
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok {
			return "", false
		}
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if p, bad := stray(m[k], t.Elem(), ptr+"/"+escapePointer(k)); bad {
				return p, true
			}
		}
	case reflect.Slice, reflect.Array:
		a, ok := v.([]any)
		if !ok {
			return "", false
		}
		for i, e := range a {
			if p, bad := stray(e, t.Elem(), fmt.Sprintf("%s/%d", ptr, i)); bad {
				return p, true
			}
		}
	}
	return "", false
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
