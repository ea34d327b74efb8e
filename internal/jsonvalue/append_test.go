package jsonvalue_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/gatescale/gatescale/internal/jsonvalue"
)

// encodingJSON is what Append must write: json.Marshal with escapeHTML,
// an Encoder with SetEscapeHTML(false) without.
func encodingJSON(v any, escapeHTML bool) ([]byte, error) {
	var w bytes.Buffer
	enc := json.NewEncoder(&w)
	enc.SetEscapeHTML(escapeHTML)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(w.Bytes(), []byte("\n")), nil
}

func TestAppend(t *testing.T) {
	doc, err := jsonvalue.Decode([]byte(`{"z":[1,2.5e-3,-0,null,true,false,{}],"a":"<b> & \"q\" \\ \b\f\n\r\t \u0001 \u007f é \u2028 \u2029 😀",
		"id":9007199254740993,"m":{"y":[],"x":{"k":"v"}},"":""}`))
	if err != nil {
		t.Fatal(err)
	}
	values := []any{
		doc, nil, true, false, "", "\xff\xfe invalid", json.Number(""), json.Number("-12.5E+7"),
		map[string]any(nil), []any(nil), []string(nil), []string{"a", "<b>"},
		// Types Append leaves to encoding/json.
		3.5, 42, map[string]int{"b": 1, "a": 2}, struct{ A string }{"<"},
	}
	for _, v := range values {
		for _, esc := range []bool{true, false} {
			got, err := jsonvalue.Append([]byte("prefix:"), v, esc)
			want, werr := encodingJSON(v, esc)
			if err != nil || werr != nil {
				t.Errorf("%#v: %v / encoding/json: %v", v, err, werr)
				continue
			}
			if string(got) != "prefix:"+string(want) {
				t.Errorf("%#v (escapeHTML %v):\n got %s\nwant prefix:%s", v, esc, got, want)
			}
		}
	}
	// An invalid json.Number is an error, as in encoding/json.
	for _, n := range []string{"01", "1.", ".5", "1e", "+1", "0x10", "NaN", "1 "} {
		if b, err := jsonvalue.Append(nil, json.Number(n), true); err == nil {
			t.Errorf("json.Number(%q) encoded as %s", n, b)
		}
		if _, err := json.Marshal(json.Number(n)); err == nil {
			t.Errorf("encoding/json accepts json.Number(%q): the test's premise is wrong", n)
		}
	}
}

// FuzzAppend: whatever Decode accepts, Append encodes exactly as
// encoding/json does, with and without HTML escaping.
func FuzzAppend(f *testing.F) {
	for _, s := range []string{`{"b":1,"a":[true,null,"x<y"]}`, `"\u2028\ud800"`, `[1e3,-0.5,{"":{}}]`, `"\u0000\u001f\u007f"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := jsonvalue.Decode(data)
		if err != nil {
			return
		}
		for _, esc := range []bool{true, false} {
			got, err := jsonvalue.Append(nil, v, esc)
			if err != nil {
				t.Fatalf("%q: %v", data, err)
			}
			want, err := encodingJSON(v, esc)
			if err != nil {
				t.Fatalf("%q: encoding/json: %v", data, err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("%q (escapeHTML %v):\n got %s\nwant %s", data, esc, got, want)
			}
		}
	})
}

// benchDoc is a merged answer of the size a composite route returns.
var benchDoc = []byte(`{"id":9007199254740993,"name":"Ada Lovelace","email":"ada@example.com","roles":["admin","dev"],
	"address":{"street":"12 St James's Square","city":"London","zip":"SW1Y 4JH"},"active":true,"score":97.5,
	"orders":[{"id":1,"total":"12.50","items":3},{"id":2,"total":"7.00","items":1}],"note":null}`)

func BenchmarkAppend(b *testing.B) {
	v, err := jsonvalue.Decode(benchDoc)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("jsonvalue.Append", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			buf, _ = jsonvalue.Append(buf[:0], v, true)
		}
	})
	b.Run("json.Marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = json.Marshal(v)
		}
	})
}
