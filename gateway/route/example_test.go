package route_test

import (
	"fmt"
	"github.com/gatescale/gatescale/gateway/spec"
	"net/http"
	"net/http/httptest"

	"github.com/go-chi/chi/v5"

	"github.com/gatescale/gatescale/gateway/route"
)

func ExampleNewTable() {
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s -> %s", route.InfoFrom(r.Context()).Route, r.URL.Path)
	})
	tbl, err := route.NewTable([]route.Route{
		{Route: spec.Route{Name: "user", Path: "/users/{id}", Methods: []string{"GET"}, Rewrite: "/v2/users/{id}"}, Handler: echo},
		{Route: spec.Route{Name: "static", PathPrefix: "/static", StripPrefix: "/static"}, Handler: echo},
	})
	if err != nil {
		panic(err)
	}
	for _, target := range []string{"/users/7", "/static/css/site.css"} {
		rec := httptest.NewRecorder()
		tbl.ServeHTTP(rec, httptest.NewRequest("GET", target, nil))
		fmt.Println(rec.Body.String())
	}
	fmt.Println(tbl.Find(chi.NewRouteContext(), "", "DELETE", "/users/7") == nil)
	// Output:
	// user -> /v2/users/7
	// static -> /css/site.css
	// true
}
