package authz_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/gatescale/gatescale/gateway/authz"
	"github.com/gatescale/gatescale/gateway/consumer"
	"github.com/gatescale/gatescale/gateway/problem"
	"github.com/gatescale/gatescale/gateway/request"
)

func TestDecide(t *testing.T) {
	alice := &consumer.Identity{ConsumerID: "alice", Scopes: []string{"orders:read", "orders:write"}, Roles: []string{"clerk"}, Groups: []string{"eu"}}
	bob := &consumer.Identity{ConsumerID: "bob", Scopes: []string{"orders:read"}, Roles: []string{"viewer"}}
	anon := &consumer.Identity{Method: consumer.MethodAnonymous}

	readWrite := authz.Policy{
		Rule: authz.Rule{Scopes: []string{"orders:read"}},
		Deny: []string{"mallory"},
		Methods: map[string]authz.Rule{
			"GET":  {},
			"POST": {Scopes: []string{"orders:write"}, Roles: []string{"clerk", "admin"}},
		},
	}
	publicReads := authz.Policy{Methods: map[string]authz.Rule{
		"GET": {Anonymous: true},
		"*":   {Groups: []string{"eu"}},
	}}
	cases := []struct {
		name   string
		p      authz.Policy
		id     *consumer.Identity
		method string
		reason authz.Reason // "" for allowed
		detail string
	}{
		{"any authenticated consumer", authz.Policy{}, bob, "GET", "", ""},
		{"no authentication ran", authz.Policy{}, nil, "GET", authz.ReasonAnonymous, "requires an authenticated consumer"},
		{"anonymous", authz.Policy{}, anon, "GET", authz.ReasonAnonymous, ""},
		{"all scopes held", readWrite, alice, "POST", "", ""},
		{"method rule", readWrite, bob, "POST", authz.ReasonScope, "missing scope for POST: orders:write"},
		{"route rule", readWrite, &consumer.Identity{ConsumerID: "c"}, "GET", authz.ReasonScope, "missing scope: orders:read"},
		{"unlisted method", readWrite, alice, "DELETE", authz.ReasonMethod, "DELETE is not allowed on this route"},
		{"deny list wins", readWrite, &consumer.Identity{ConsumerID: "mallory", Scopes: []string{"orders:read"}}, "GET", authz.ReasonDenied, ""},
		{"role alternatives", readWrite, &consumer.Identity{ConsumerID: "d", Scopes: []string{"orders:read", "orders:write"}, Roles: []string{"viewer"}}, "POST", authz.ReasonRole, "clerk, admin"},
		{"allow list", authz.Policy{Rule: authz.Rule{Consumers: []string{"alice"}}}, bob, "GET", authz.ReasonNotAllowed, ""},
		{"allow list admits", authz.Policy{Rule: authz.Rule{Consumers: []string{"alice"}}}, alice, "GET", "", ""},
		{"group", authz.Policy{Rule: authz.Rule{Groups: []string{"us", "eu"}}}, alice, "GET", "", ""},
		{"missing group", authz.Policy{Rule: authz.Rule{Groups: []string{"us"}}}, bob, "GET", authz.ReasonGroup, ""},
		{"public GET", publicReads, anon, "GET", "", ""},
		{"public GET, nil identity", publicReads, nil, "GET", "", ""},
		{"other methods need the group", publicReads, anon, "PUT", authz.ReasonAnonymous, "for PUT"},
		{"other methods with the group", publicReads, alice, "PUT", "", ""},
		{"other methods without the group", publicReads, bob, "PUT", authz.ReasonGroup, ""},
		// HEAD is GET without the body (RFC 9110 9.3.2): the upstream runs its
		// GET handler, so GET's rule guards it unless HEAD has its own.
		{"HEAD follows GET, not *", authz.Policy{Methods: map[string]authz.Rule{"GET": {Scopes: []string{"orders:read"}}, "*": {Anonymous: true}}}, anon, "HEAD", authz.ReasonAnonymous, "for HEAD"},
		{"HEAD allowed as GET is", readWrite, bob, "HEAD", "", ""},
		{"HEAD's own rule", authz.Policy{Methods: map[string]authz.Rule{"GET": {Scopes: []string{"orders:read"}}, "HEAD": {Anonymous: true}}}, anon, "HEAD", "", ""},
		{"many missing scopes are listed briefly", authz.Policy{Rule: authz.Rule{Scopes: []string{"a", "b", "c", "d", "e", "f", "g"}}}, bob, "GET", authz.ReasonScope, "missing scopes: a, b, c, d, e (and 2 more)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := c.p.Decide(c.id, c.method)
			if d.Allowed != (c.reason == "") || d.Reason != c.reason || !strings.Contains(d.Detail, c.detail) {
				t.Fatalf("Decide = %+v, want reason %q detail containing %q", d, c.reason, c.detail)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	if err := (authz.Policy{Rule: authz.Rule{Anonymous: true, Scopes: []string{"x"}}}).Validate(); err == nil {
		t.Error("anonymous with scopes accepted")
	}
	if err := (authz.Policy{Methods: map[string]authz.Rule{"get": {}}}).Validate(); err == nil {
		t.Error("lower-case method accepted")
	}
	if err := (authz.Policy{Methods: map[string]authz.Rule{"GET": {Anonymous: true}, "*": {}}}).Validate(); err != nil {
		t.Error(err)
	}
}

func TestMiddleware(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := authz.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	h := authz.Middleware(authz.Policy{Methods: map[string]authz.Rule{"get": {Scopes: []string{"r"}}}}, authz.WithMetrics(m))(
		http.HandlerFunc(func(http.ResponseWriter, *http.Request) { calls++ }))
	serve := func(method string, id *consumer.Identity) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, "/", nil)
		ctx := request.WithInfo(r.Context(), &request.Info{Route: "orders"})
		if id != nil {
			ctx = consumer.NewContext(ctx, id)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r.WithContext(ctx))
		return rec
	}
	if rec := serve("GET", &consumer.Identity{ConsumerID: "a", Scopes: []string{"r"}}); rec.Code != 200 || calls != 1 {
		t.Fatalf("allowed: %d, calls %d", rec.Code, calls)
	}
	rec := serve("GET", &consumer.Identity{ConsumerID: "a"})
	var body problem.Details
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	if rec.Code != 403 || calls != 1 || body.Type != "urn:gatescale:authz:missing_scope" || body.Route != "orders" || body.Detail != "missing scope for GET: r" {
		t.Fatalf("denied: %d %+v", rec.Code, body)
	}
	serve("POST", &consumer.Identity{ConsumerID: "a"})
	serve("GET", nil)
	for reason, want := range map[string]float64{"missing_scope": 1, "method_not_allowed": 1, "anonymous": 1} {
		if got := testutil.ToFloat64(mustCounter(t, reg, reason)); got != want {
			t.Errorf("%s counted %v, want %v", reason, got, want)
		}
	}
}

// mustCounter returns a collector holding the denial count for reason on
// route orders.
func mustCounter(t *testing.T, reg *prometheus.Registry, reason string) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "c"})
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			match := mf.GetName() == authz.DeniedTotal
			for _, l := range m.GetLabel() {
				if l.GetName() == "reason" && l.GetValue() != reason || l.GetName() == "route" && l.GetValue() != "orders" {
					match = false
				}
			}
			if match {
				c.Add(m.GetCounter().GetValue())
			}
		}
	}
	return c
}
