package transform

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestRulesValidate(t *testing.T) {
	err := Rules{
		Header:      "X Client",
		MaxBodySize: -1,
		Default:     "tv",
		UserAgent: []UserAgentRule{
			{ClientType: "mobile", Contains: []string{""}},
			{ClientType: "watch"},
			{ClientType: "web", Regexp: "("},
		},
		ClientTypes: []ClientType{
			{Name: "mobile", Allow: []string{"a.b", "items[]"}, Deny: []string{""},
				Rename: map[string]string{"x..y": "z", "ok": ""}, Flatten: []Flatten{{Path: "a["}}},
			{Name: "web", Pick: []Pick{{Path: "items"}, {Path: "x", First: 1, Indexes: []int{1}}, {First: -1}}},
			{Name: "Mobile"},
			{},
		},
	}.Validate()
	want := []string{
		`header: "X Client" is not a valid header name`,
		"max_body_size: must be positive (omit it for the default 1048576)",
		`client_types[0].allow[1]: "items[]": must end with a field name, not []`,
		"client_types[0].deny[0]: empty path",
		`client_types[0].rename["ok"]: the new name must not be empty`,
		`client_types[0].rename["x..y"]: "x..y": empty field name at offset 2`,
		`client_types[0].flatten[0].path: "a[": "[" at offset 1 is not "[]" (escape it as \[)`,
		"client_types[1].pick[0]: needs first or indexes",
		"client_types[1].pick[1]: set first or indexes, not both",
		"client_types[1].pick[2].first: must be positive",
		`client_types[2].name: "Mobile" is already declared by client_types[0]`,
		"client_types[3].name: must not be empty",
		`default: "tv" is not a declared client type`,
		"user_agent[0].contains[0]: must not be empty",
		`user_agent[1].client_type: "watch" is not a declared client type`,
		"user_agent[1]: needs contains or regexp",
		"user_agent[2].regexp: error parsing regexp: missing closing ): `(`",
	}
	var got []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var fe *FieldError
		if !errors.As(e, &fe) {
			t.Fatalf("%v is not a *FieldError", e)
		}
		got = append(got, fe.Error())
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if err := (Rules{}).Validate(); err == nil || err.Error() != "client_types: must declare at least one client type" {
		t.Fatalf("empty rules: %v", err)
	}
	if _, err := New(Rules{ClientTypes: []ClientType{{Name: "web"}}, UserAgent: DefaultUserAgentRules()}); err == nil {
		t.Fatal("DefaultUserAgentRules without a mobile type accepted")
	}
}

func TestRulesJSON(t *testing.T) {
	const in = `{"header":"X-Client-Type","client_types":[{"name":"mobile","allow":["id"],"rename":{"id":"i"},
		"pick":[{"path":"items","first":3}],"flatten":[{"path":"a","prefix":"a_"}],"wrap":"d"}],"max_body_size":100}`
	var r Rules
	dec := json.NewDecoder(strings.NewReader(in))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		t.Fatal(err)
	}
	if _, err := New(r); err != nil {
		t.Fatal(err)
	}
	if r.ClientTypes[0].Pick[0].First != 3 || r.ClientTypes[0].Flatten[0].Prefix != "a_" {
		t.Fatalf("%+v", r)
	}
}
