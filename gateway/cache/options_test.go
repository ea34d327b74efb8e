package cache

import (
	"encoding/json"
	"errors"
	"github.com/gatescale/gatescale/gateway/units"
	"reflect"
	"testing"
	"time"
)

func TestPolicyValidate(t *testing.T) {
	if err := (Policy{}).Validate(); err != nil {
		t.Fatalf("zero Policy: %v", err)
	}
	err := Policy{
		TTL:                  units.Duration(-time.Second),
		StaleIfError:         units.Duration(-1),
		CoalesceTimeout:      units.Duration(-1),
		QueryParams:          []string{"a", "", "a"},
		IgnoreQuery:          true,
		Authenticated:        "sometimes",
		MaxObjectSize:        MaxObjectSizeLimit + 1,
		StaleWhileRevalidate: units.Duration(time.Minute),
	}.Validate()
	var got []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var fe *FieldError
		if !errors.As(e, &fe) {
			t.Fatalf("%v is not a *FieldError", e)
		}
		got = append(got, fe.Error())
	}
	want := []string{
		"ttl: must be positive",
		"stale_if_error: must be positive",
		"coalesce_timeout: must be positive",
		"query_params: must be empty when ignore_query is set",
		"query_params[1]: must not be empty",
		`query_params[2]: "a" is listed twice`,
		`authenticated: must be "per_consumer" or "off", not "sometimes"`,
		"max_object_size: must be at most 1073741824",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("errors:\n%q\nwant\n%q", got, want)
	}
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "ttl" {
		t.Fatalf("errors.As finds %v", fe)
	}
}

func TestStoreOptionsValidate(t *testing.T) {
	if _, err := NewStore(StoreOptions{MaxBytes: -1}); err == nil || err.Error() != "max_bytes: must be positive (omit it for the default 67108864)" {
		t.Fatalf("err = %v", err)
	}
	s, err := NewStore(StoreOptions{MaxBytes: 1000})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var fe *FieldError
	if _, err := New(s, Policy{}); !errors.As(err, &fe) || fe.Field != "max_object_size" {
		t.Fatalf("a default max_object_size over the budget: %v", err)
	}
	if _, err := New(nil, Policy{}); err == nil {
		t.Fatal("nil store accepted")
	}
}

// The options are plain data: they round-trip through JSON with
// snake_case names.
func TestPolicyJSON(t *testing.T) {
	p := Policy{TTL: units.Duration(time.Minute), QueryParams: []string{"page"}, Authenticated: NoCache, AllowSetCookie: true, MaxObjectSize: 10}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"ttl":"1m0s","query_params":["page"],"authenticated":"off","allow_set_cookie":true,"max_object_size":10}`; string(b) != want {
		t.Fatalf("JSON %s, want %s", b, want)
	}
	var back Policy
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, p) {
		t.Fatalf("round trip: %+v %v", back, err)
	}
}
