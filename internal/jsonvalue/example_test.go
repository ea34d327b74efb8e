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
