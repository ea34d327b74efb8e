package jsonvalue_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/gatescale/gatescale/internal/jsonvalue"
)

func TestDecode(t *testing.T) {
	for _, c := range []struct {
		in, out string
		err     bool
	}{
		{" {\"a\":1,\"b\":[1e3,-0.5,null,true]}\n\t", `{"a":1,"b":[1e3,-0.5,null,true]}`, false},
		{`123456789012345678901234567890`, `123456789012345678901234567890`, false},
		{`"x"`, `"x"`, false},
		{``, ``, true},
		{`{"a":`, ``, true},
		{`[1] 2`, ``, true},
	} {
		v, err := jsonvalue.Decode([]byte(c.in))
		if c.err {
			if err == nil {
				t.Errorf("%q: no error, got %v", c.in, v)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		if out, _ := json.Marshal(v); string(out) != c.out {
			t.Errorf("%q: re-encoded %s, want %s", c.in, out, c.out)
		}
	}
	if _, err := jsonvalue.Decode([]byte(`{} x`)); !errors.Is(err, jsonvalue.ErrTrailingData) {
		t.Errorf("trailing data: %v", err)
	}
}

// FuzzDecode: any input decodes or fails without panicking, and what
// decodes encodes to a document that decodes to the same encoding.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{"id":9007199254740993}`, `[1e3,-0.5,"\u00e9"]`, `null`, `{"a":1} 2`, `{`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := jsonvalue.Decode(data)
		if err != nil {
			return
		}
		once, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("%q decoded but does not encode: %v", data, err)
		}
		again, err := jsonvalue.Decode(once)
		if err != nil {
			t.Fatalf("re-encoding %s does not decode: %v", once, err)
		}
		if twice, _ := json.Marshal(again); string(twice) != string(once) {
			t.Fatalf("round trip changed %s into %s", once, twice)
		}
	})
}
