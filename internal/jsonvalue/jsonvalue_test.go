package jsonvalue_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
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

// decodeWithEncodingJSON is what Decode must agree with: encoding/json's
// Decoder with UseNumber, and nothing but whitespace after the value.
func decodeWithEncodingJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, jsonvalue.ErrTrailingData
	}
	return v, nil
}

func TestDecodeLikeEncodingJSON(t *testing.T) {
	for _, in := range []string{
		`{"a":1,"a":2}`, `"\ud83d\ude00"`, `"\ud83d"`, `"\ud83dx"`, `"\ude00\ud83d"`, `"\ud83d\u0041"`, `"\ud83d\ud83d\ude00"`,
		"\"\xff\xfe\"", "\"a\xc3\"", "\"\xed\xa0\x80\"", `"\/\b\f\n\r\t\"\\"`, `"\u00e9\u00E9"`, `"é😀"`, "\"\x7f\"",
		"\"\x01\"", `"\x"`, `"\u12"`, `"\u12g4"`, `"abc`, `-`, `-0`, `-01`, `0.`, `.5`, `1e`, `1E+`, `1e-5`, `2.5E+10`,
		`01`, `1x`, `[1,]`, `[,1]`, `{"a":1,}`, `{"a" 1}`, `{a:1}`, `{"a":1 "b":2}`, `[]`, `{}`, ` [ ] `, `tru`, `nul`,
		`true false`, "\ufeff{}", ``, ` `, `[1 2]`, `{"":null}`, `[[[[]]]]`, `"` + strings.Repeat("x", 100) + `é"`,
		strings.Repeat("[", 10000) + strings.Repeat("]", 10000), strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
		strings.Repeat(`{"a":`, 10001) + `1` + strings.Repeat("}", 10001),
	} {
		want, werr := decodeWithEncodingJSON([]byte(in))
		got, err := jsonvalue.Decode([]byte(in))
		if (err == nil) != (werr == nil) || !reflect.DeepEqual(got, want) {
			t.Errorf("%.60q: Decode %#v, %v; encoding/json %#v, %v", in, got, err, want, werr)
		}
	}
}

// FuzzDecodeLikeEncodingJSON: Decode accepts exactly what encoding/json
// accepts and makes the same values.
func FuzzDecodeLikeEncodingJSON(f *testing.F) {
	for _, s := range []string{`{"id":9007199254740993,"a":[1e3,-0.5,null,true,false,"\u00e9\ud83d\ude00"]}`,
		"\"\xff\\ud800x\"", `{"a":{"a":1},"a":[]}`, ` 1 `, `[1] 2`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		want, werr := decodeWithEncodingJSON(data)
		got, err := jsonvalue.Decode(data)
		if (err == nil) != (werr == nil) || !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: Decode %#v, %v; encoding/json %#v, %v", data, got, err, want, werr)
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	b.Run("jsonvalue.Decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := jsonvalue.Decode(benchDoc); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := decodeWithEncodingJSON(benchDoc); err != nil {
				b.Fatal(err)
			}
		}
	})
}
