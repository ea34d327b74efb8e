package vary_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/gatescale/gatescale/internal/vary"
)

func TestAdd(t *testing.T) {
	for _, tc := range []struct {
		before []string
		name   string
		after  []string
	}{
		{nil, "Origin", []string{"Origin"}},
		{[]string{"Accept-Encoding"}, "Origin", []string{"Accept-Encoding", "Origin"}},
		{[]string{"accept-encoding, origin"}, "Origin", []string{"accept-encoding, origin"}},
		{[]string{"X-A", " Origin "}, "origin", []string{"X-A", " Origin "}},
		{[]string{"*"}, "Origin", []string{"*"}},
		{[]string{"X-A, *"}, "Origin", []string{"X-A, *"}},
		{[]string{"Originator"}, "Origin", []string{"Originator", "Origin"}},
	} {
		h := http.Header{}
		for _, v := range tc.before {
			h.Add("Vary", v)
		}
		vary.Add(h, tc.name)
		if got := h.Values("Vary"); !slices.Equal(got, tc.after) {
			t.Errorf("Vary %q + %s = %q, want %q", tc.before, tc.name, got, tc.after)
		}
	}
}
