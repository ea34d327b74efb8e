package jsonvalue_test

import (
	"encoding/json"
	"fmt"

	"github.com/gatescale/gatescale/internal/jsonvalue"
)

// An id above 2^53 comes back out as it went in; json.Unmarshal into an any
// would have made it 9007199254740992.
func ExampleDecode() {
	v, err := jsonvalue.Decode([]byte(`{"id": 9007199254740993, "price": 12.50}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	out, _ := json.Marshal(v)
	fmt.Println(string(out))

	_, err = jsonvalue.Decode([]byte(`{"a":1} {"b":2}`))
	fmt.Println(err)
	// Output:
	// {"id":9007199254740993,"price":12.50}
	// invalid JSON: data after the top-level value
}

// Append writes what encoding/json would, members sorted by name, without
// going through reflection; false leaves <, > and & as they are.
func ExampleAppend() {
	v, _ := jsonvalue.Decode([]byte(`{"name": "<Ada>", "id": 9007199254740993, "tags": ["a", "b"]}`))
	out, err := jsonvalue.Append(nil, v, true)
	fmt.Println(string(out), err)
	out, _ = jsonvalue.Append(out[:0], v, false)
	fmt.Println(string(out))
	// Output:
	// {"id":9007199254740993,"name":"\u003cAda\u003e","tags":["a","b"]} <nil>
	// {"id":9007199254740993,"name":"<Ada>","tags":["a","b"]}
}
