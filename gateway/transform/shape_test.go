package transform

import (
	"encoding/json"
	"testing"
)

const sample = `{
  "id": 7,
  "user": {"name": "Ada", "email": "ada@example.com", "address": {"city": "London", "zip": "N1"}},
  "items": [
    {"id": 1, "title": "a", "price": 10, "secret": "x", "tags": [{"k": "t1", "v": 1}, {"k": "t2", "v": 2}]},
    {"id": 2, "title": "b", "price": 20, "secret": "y", "tags": []},
    {"id": 3, "title": "c", "price": 30, "secret": "z"},
    "not an object"
  ],
  "big": 12345678901234567890,
  "html": "<b>&</b>"
}`

func TestShapes(t *testing.T) {
	for _, tc := range []struct {
		name string
		ct   ClientType
		in   string // default: sample
		want string
	}{
		{name: "no steps", ct: ClientType{}, in: `{"b":1,"a":[1,2]}`, want: `{"b":1,"a":[1,2]}`},
		{name: "allow top level", ct: ClientType{Allow: []string{"id", "big"}},
			want: `{"big":12345678901234567890,"id":7}`},
		{name: "allow nested", ct: ClientType{Allow: []string{"user.name", "user.address.city"}},
			want: `{"user":{"address":{"city":"London"},"name":"Ada"}}`},
		{name: "allow array elements", ct: ClientType{Allow: []string{"items[].id", "items[].tags[].k"}},
			want: `{"items":[{"id":1,"tags":[{"k":"t1"},{"k":"t2"}]},{"id":2,"tags":[]},{"id":3}]}`},
		{name: "allow whole beats narrower", ct: ClientType{Allow: []string{"user.name", "user"}},
			want: `{"user":{"address":{"city":"London","zip":"N1"},"email":"ada@example.com","name":"Ada"}}`},
		{name: "allow path through a non-object drops it", ct: ClientType{Allow: []string{"id.x", "html"}},
			want: `{"html":"<b>&</b>"}`},
		{name: "allow on a top-level array", ct: ClientType{Allow: []string{"[].id"}},
			in: `[{"id":1,"x":2},{"id":3},4]`, want: `[{"id":1},{"id":3}]`},
		{name: "allow nothing matching", ct: ClientType{Allow: []string{"nope"}}, want: `{}`},
		{name: "deny", ct: ClientType{Deny: []string{"items[].secret", "user.email", "user.address.zip", "big", "html", "nope.x"}},
			in:   `{"big":1,"html":2,"user":{"email":"e","name":"n","address":{"zip":"z","city":"c"}},"items":[{"secret":1,"id":1},"s",{"id":2}]}`,
			want: `{"items":[{"id":1},"s",{"id":2}],"user":{"address":{"city":"c"},"name":"n"}}`},
		{name: "allow then deny", ct: ClientType{Allow: []string{"items[].id", "items[].secret"}, Deny: []string{"items[].secret"}},
			want: `{"items":[{"id":1},{"id":2},{"id":3}]}`},
		{name: "rename, deepest first", ct: ClientType{Allow: []string{"user.name", "items[].id"},
			Rename: map[string]string{"user": "customer", "user.name": "full_name", "items[].id": "sku"}},
			want: `{"customer":{"full_name":"Ada"},"items":[{"sku":1},{"sku":2},{"sku":3}]}`},
		{name: "rename replaces", ct: ClientType{Rename: map[string]string{"a": "b"}}, in: `{"a":1,"b":2}`, want: `{"b":1}`},
		{name: "flatten with prefix", ct: ClientType{Allow: []string{"id", "user.name", "user.address"},
			Flatten: []Flatten{{Path: "user", Prefix: "user_"}, {Path: "user_address"}}},
			want: `{"city":"London","id":7,"user_name":"Ada","zip":"N1"}`},
		{name: "flatten keeps the parent's members", ct: ClientType{Flatten: []Flatten{{Path: "o"}}},
			in: `{"a":1,"o":{"a":2,"b":3}}`, want: `{"a":1,"b":3}`},
		{name: "flatten inside array elements", ct: ClientType{Flatten: []Flatten{{Path: "items[].meta"}}},
			in: `{"items":[{"id":1,"meta":{"x":1}},{"id":2,"meta":5}]}`, want: `{"items":[{"id":1,"x":1},{"id":2,"meta":5}]}`},
		{name: "wrap", ct: ClientType{Allow: []string{"id"}, Wrap: "data"}, want: `{"data":{"id":7}}`},
		{name: "wrap an array", ct: ClientType{Wrap: "items"}, in: `[1,2]`, want: `{"items":[1,2]}`},
		{name: "pick first", ct: ClientType{Pick: []Pick{{Path: "items", First: 2}}, Allow: []string{"items[].id"}},
			want: `{"items":[{"id":1},{"id":2}]}`},
		{name: "pick indexes", ct: ClientType{Pick: []Pick{{Path: "items", Indexes: []int{-2, 0, 9}}}, Allow: []string{"items[].id"}},
			want: `{"items":[{"id":3},{"id":1}]}`},
		{name: "pick nested", ct: ClientType{Pick: []Pick{{Path: "items[].tags", First: 1}}, Allow: []string{"items[].tags"}},
			want: `{"items":[{"tags":[{"k":"t1","v":1}]},{"tags":[]},{}]}`},
		{name: "pick top level", ct: ClientType{Pick: []Pick{{First: 1}}}, in: `[1,2,3]`, want: `[1]`},
		{name: "pick a non-array", ct: ClientType{Pick: []Pick{{Path: "id", First: 1}}, Allow: []string{"id"}}, want: `{"id":7}`},
		{name: "mobile", ct: ClientType{
			Pick:   []Pick{{Path: "items", First: 2}},
			Allow:  []string{"id", "user.name", "items[].id", "items[].title"},
			Rename: map[string]string{"items[].title": "t"},
			Wrap:   "m",
		}, want: `{"m":{"id":7,"items":[{"id":1,"t":"a"},{"id":2,"t":"b"}],"user":{"name":"Ada"}}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.ct.Name = "x"
			if err := (Rules{ClientTypes: []ClientType{tc.ct}}).Validate(); err != nil {
				t.Fatal(err)
			}
			in := tc.in
			if in == "" {
				in = sample
			}
			s := compile(tc.ct)
			if s == nil {
				if in != tc.want {
					t.Fatalf("no steps: want %s", tc.want)
				}
				return
			}
			out, err := s.transformJSON([]byte(in))
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tc.want {
				t.Fatalf("\n got %s\nwant %s", out, tc.want)
			}
			if !json.Valid(out) {
				t.Fatal("invalid JSON out")
			}
		})
	}
}

func TestShapeInvalidJSON(t *testing.T) {
	s := compile(ClientType{Name: "x", Deny: []string{"a"}})
	for _, in := range []string{``, `{`, `{"a":1} {"b":2}`, `{"a":1}x`, `nul`} {
		if out, err := s.transformJSON([]byte(in)); err == nil {
			t.Errorf("%q: got %s, want an error", in, out)
		}
	}
	if out, err := s.transformJSON([]byte(" {\"a\":1,\"b\":2}\n\t")); err != nil || string(out) != `{"b":2}` {
		t.Fatalf("whitespace around: %s %v", out, err)
	}
}
