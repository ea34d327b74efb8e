package tcprelay_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"

	"github.com/gatescale/gatescale/internal/tcprelay"
)

// TestCutRefuseRestore: a client reaches the server through the relay; not
// while it is cut (connection refused) nor while it refuses (each
// connection closed at once, and told); and again after each restore, on
// the same address.
func TestCutRefuseRestore(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, "up")
	}))
	defer srv.Close()
	r := tcprelay.Start(t, srv.Listener.Addr().String())
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()

	get := func() string {
		resp, err := client.Get("http://" + r.Addr)
		switch {
		case errors.Is(err, syscall.ECONNREFUSED):
			return "refused"
		case err != nil:
			return "closed"
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	var got []string
	got = append(got, get())
	r.Cut()
	got = append(got, get())
	r.Restore(t)
	got = append(got, get())
	r.Refuse()
	got = append(got, get())
	<-r.Refused()
	r.Restore(t)
	got = append(got, get())
	if want := "[up refused up closed up]"; fmt.Sprint(got) != want {
		t.Errorf("answers %v, want %s", got, want)
	}
}
