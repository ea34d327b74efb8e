package metrics

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/gatescale/gatescale/internal/gathered"
)

// held serves route through m's middleware on a real server; each request
// blocks in the handler until release is called. started gets one value per
// request that reached the handler.
func held(t *testing.T, m *Metrics, route string) (srv *httptest.Server, started chan struct{}, release func()) {
	started, released := make(chan struct{}, 16), make(chan struct{})
	srv = httptest.NewServer(routed(route, m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		<-released
		_, _ = io.WriteString(w, "done")
	}))))
	t.Cleanup(srv.Close)
	release = sync.OnceFunc(func() { close(released) })
	t.Cleanup(release) // runs first: srv.Close waits for the handlers
	return srv, started, release
}

func get(t *testing.T, url string) chan int {
	codes := make(chan int, 1)
	go func() {
		resp, err := http.Get(url)
		if err != nil {
			t.Error(err)
			codes <- 0
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		codes <- resp.StatusCode
	}()
	return codes
}

// A request in flight when its route is forgotten is counted, and its end
// deletes the route's series instead of creating them again.
func TestForgetRouteWaitsForRequestInFlight(t *testing.T) {
	m, reg := newMetrics(t)
	srv, started, release := held(t, m, "held")
	code := get(t, srv.URL)
	<-started
	if got := gaugeValue(t, reg, RequestsInFlight, map[string]string{"route": "held"}); got != 1 {
		t.Fatalf("in flight = %v, want 1", got)
	}

	m.ForgetRoute("held")
	// Still recording: its series stay until it is done.
	if got := gaugeValue(t, reg, RequestsInFlight, map[string]string{"route": "held"}); got != 1 {
		t.Errorf("in flight after ForgetRoute = %v, want 1 until the request ends", got)
	}
	release()
	if c := <-code; c != 200 {
		t.Fatalf("held request got %d", c)
	}
	srv.Close() // the handler has returned, so the middleware has recorded
	if n := len(gathered.RouteFamilies(t, reg, "held")); n != 0 {
		t.Errorf("%d series of the forgotten route are left after its last request", n)
	}
}

// A handler built before ForgetRoute (the old route table's) whose request
// arrives only after the route's series were deleted records nothing.
func TestForgetRouteOldHandlerLate(t *testing.T) {
	m, reg := newMetrics(t)
	old := routed("gone", m.Middleware(status(200)))
	old.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	m.ForgetRoute("gone")
	if n := len(gathered.RouteFamilies(t, reg, "gone")); n != 0 {
		t.Fatalf("%d series left after ForgetRoute with nothing in flight", n)
	}
	old.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/", nil))
	if n := len(gathered.RouteFamilies(t, reg, "gone")); n != 0 {
		t.Errorf("a late request of the old table created %d series of the forgotten route", n)
	}
	// Never requested before it was forgotten: the same.
	never := routed("never", m.Middleware(status(200)))
	m.ForgetRoute("never")
	never.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	if n := len(gathered.RouteFamilies(t, reg, "never")); n != 0 {
		t.Errorf("a late request of the old table created %d series of a route forgotten before its first request", n)
	}
}

// A route of the same name in a table built after ForgetRoute is a live
// route: the old table's last request leaving does not delete its series,
// and it counts after the old one's series were deleted too.
func TestForgetRouteAddedAgain(t *testing.T) {
	m, reg := newMetrics(t)
	srv, started, release := held(t, m, "back")
	code := get(t, srv.URL)
	<-started
	m.ForgetRoute("back")

	again := routed("back", m.Middleware(status(201))) // the next table's
	again.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	release()
	if c := <-code; c != 200 {
		t.Fatalf("held request got %d", c)
	}
	srv.Close()
	for c, want := range map[string]float64{"200": 1, "201": 1} {
		if got := counterValue(t, reg, RequestsTotal, map[string]string{"route": "back", "code": c}); got != want {
			t.Errorf("requests{route=back,code=%s} = %v, want %v", c, got, want)
		}
	}
	if got := gaugeValue(t, reg, RequestsInFlight, map[string]string{"route": "back"}); got != 0 {
		t.Errorf("in flight = %v, want 0", got)
	}

	// Forgotten with nothing in flight, then added again.
	m.ForgetRoute("back")
	third := routed("back", m.Middleware(status(202)))
	third.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	if got := counterValue(t, reg, RequestsTotal, map[string]string{"route": "back", "code": "202"}); got != 1 {
		t.Errorf("re-added route counted %v, want 1", got)
	}
	if got := counterValue(t, reg, RequestsTotal, map[string]string{"route": "back", "code": "201"}); got != 0 {
		t.Errorf("the forgotten route's old series is back: %v", got)
	}
}
