package units_test

import (
	"encoding/json"
	"fmt"

	"github.com/gatescale/gatescale/gateway/units"
)

// The same quantities read from JSON (and YAML): durations as Go duration
// strings, sizes as numbers or with a unit.
func ExampleSize() {
	var v struct {
		Timeout units.Duration `json:"timeout"`
		Max     units.Size     `json:"max"`
	}
	_ = json.Unmarshal([]byte(`{"timeout": "1m30s", "max": "512KiB"}`), &v)
	fmt.Println(v.Timeout.Std(), int64(v.Max))
	// Output: 1m30s 524288
}
