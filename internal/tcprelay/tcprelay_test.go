package tcprelay_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gatescale/gatescale/internal/tcprelay"
)

// TestCutAndRestore: a client reaches the server through the relay, not
// while it is cut, and again once it is restored; the cut is seen to refuse.
func TestCutAndRestore(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, "up")
	}))
	defer srv.Close()
	r := tcprelay.Start(t, srv.Listener.Addr().String())
	client := &http.Client{Transport: &http.Transport{}}

	get := func() string {
		resp, err := client.Get("http://" + r.Addr)
		if err != nil {
			return "unreachable"
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	var got []string
	got = append(got, get())
	r.Cut()
	got = append(got, get())
	<-r.Refused()
	r.Restore()
	got = append(got, get())
	if fmt.Sprint(got) != "[up unreachable up]" {
		t.Errorf("answers %v, want [up unreachable up]", got)
	}
}
