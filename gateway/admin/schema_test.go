package admin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gatescale/gatescale/gateway/admin"
	"github.com/gatescale/gatescale/gateway/spec"
	"github.com/gatescale/gatescale/gateway/units"
)

// Every member of the JSON the API returns for the model is in the
// schema its document states for that answer: the state is filled with a
// value in every field the Go types have (so a field added to the model
// shows up in the answers), saved, and each model read is checked
// against the response schema of its operation.
func TestOpenAPISchemasCoverAnswers(t *testing.T) {
	f := newAPI(t, nil, admin.Options{})
	full := &spec.Config{}
	fill(reflect.ValueOf(full).Elem(), 0)
	full.Routes[0].Name = "full"
	if _, err := f.store.Save(context.Background(), 1, full, admin.Change{Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	doc := fetchOpenAPI(t, f)
	schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
	paths := doc["paths"].(map[string]any)
	for _, c := range []struct{ path, op string }{
		{"/admin/config", "/admin/config"},
		{"/admin/routes", "/admin/routes"},
		{"/admin/routes/full", "/admin/routes/{name}"},
		{"/admin/upstreams", "/admin/upstreams"},
		{"/admin/consumers", "/admin/consumers"},
	} {
		op, ok := paths[c.op].(map[string]any)["get"].(map[string]any)
		if !ok {
			t.Fatalf("the document has no GET %s", c.op)
		}
		schema := op["responses"].(map[string]any)["200"].(map[string]any)["content"].(map[string]any)["application/json"].(map[string]any)["schema"]
		a := f.do("viewer", "GET", c.path, "", "")
		if a.code != 200 {
			t.Fatalf("GET %s: %d %s", c.path, a.code, a.raw)
		}
		var body any
		if err := json.Unmarshal([]byte(a.raw), &body); err != nil {
			t.Fatal(err)
		}
		members := 0
		for _, e := range conform(schemas, schema, body, "", &members) {
			t.Errorf("GET %s: %s", c.path, e)
		}
		if members < 15 {
			t.Errorf("GET %s: only %d members checked; is the state filled?", c.path, members)
		}
	}
}

// The check itself finds a member the schema lacks.
func TestConformFindsUnknownMember(t *testing.T) {
	schemas := map[string]any{"R": map[string]any{"type": "object", "additionalProperties": false,
		"properties": map[string]any{"a": map[string]any{"type": "string"}}}}
	n := 0
	errs := conform(schemas, map[string]any{"$ref": "#/components/schemas/R"}, map[string]any{"a": "x", "b": 1}, "", &n)
	if len(errs) != 1 || !strings.Contains(errs[0], "/b") {
		t.Fatalf("errors %q", errs)
	}
}

// conform returns where v has a member schema does not describe, or a
// value of another JSON type; members counts the members it walked.
func conform(schemas map[string]any, schema, v any, at string, members *int) []string {
	s, ok := schema.(map[string]any)
	if !ok {
		return nil // true: anything
	}
	if r, ok := s["$ref"].(string); ok {
		return conform(schemas, schemas[strings.TrimPrefix(r, "#/components/schemas/")], v, at, members)
	}
	if alts, ok := s["oneOf"].([]any); ok {
		var all []string
		for _, alt := range alts {
			errs := conform(schemas, alt, v, at, members)
			if len(errs) == 0 {
				return nil
			}
			all = append(all, errs...)
		}
		return all
	}
	if all, ok := s["allOf"].([]any); ok {
		var errs []string
		for _, part := range all {
			errs = append(errs, conform(schemas, part, v, at, members)...)
		}
		return errs
	}
	want, _ := s["type"].(string)
	if got := jsonType(v); want != "" && got != want && !(want == "number" && got == "integer") {
		return []string{fmt.Sprintf("%s: %s, schema says %s", at, got, want)}
	}
	var errs []string
	switch x := v.(type) {
	case map[string]any:
		props, _ := s["properties"].(map[string]any)
		for k, e := range x {
			*members++
			p := at + "/" + k
			if ps, ok := props[k]; ok {
				errs = append(errs, conform(schemas, ps, e, p, members)...)
			} else if ap, ok := s["additionalProperties"]; ok && ap != false {
				errs = append(errs, conform(schemas, ap, e, p, members)...)
			} else {
				errs = append(errs, p+": not in the schema")
			}
		}
	case []any:
		for i, e := range x {
			errs = append(errs, conform(schemas, s["items"], e, fmt.Sprintf("%s/%d", at, i), members)...)
		}
	}
	return errs
}

func jsonType(v any) string {
	switch x := v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case bool:
		return "boolean"
	case float64:
		if x == float64(int64(x)) {
			return "integer"
		}
		return "number"
	case nil:
		return "null"
	}
	return "?"
}

// fill sets every field of v to a value that is not its zero, one level of
// a recursive type deep.
func fill(v reflect.Value, depth int) {
	if depth > 6 {
		return
	}
	switch v.Interface().(type) {
	case units.Duration:
		v.Set(reflect.ValueOf(units.Duration(time.Second)))
		return
	case units.Size:
		v.Set(reflect.ValueOf(units.Size(1024)))
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), depth+1)
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), depth+1)
			}
		}
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fill(v.Index(0), depth+1)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k := reflect.New(v.Type().Key()).Elem()
		fill(k, depth+1)
		e := reflect.New(v.Type().Elem()).Elem()
		fill(e, depth+1)
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.String:
		v.SetString("x")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(1)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(1)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(1.5)
	case reflect.Interface:
		v.Set(reflect.ValueOf("x"))
	}
}
