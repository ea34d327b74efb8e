package admin_test

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/gatescale/gatescale/gateway/admin"
)

// Guard puts a page next to the API behind the API's own tokens and roles.
func ExampleAPI_Guard() {
	dir, _ := os.MkdirTemp("", "admin")
	defer os.RemoveAll(dir)
	tokens, _ := admin.NewTokens(admin.Token{Name: "grafana", Role: "viewer", SHA256: admin.HashToken("v13wer")})
	api, _ := admin.NewAPI(admin.NewFile(filepath.Join(dir, "state.json")), admin.Options{Tokens: tokens, Logger: slog.New(slog.DiscardHandler)})
	hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := admin.PrincipalOf(r.Context())
		fmt.Fprintf(w, "hello %s (%s)", p.Name, p.Role)
	})
	for _, c := range []struct {
		need   admin.Role
		secret string
	}{{admin.Viewer, "v13wer"}, {admin.Admin, "v13wer"}, {admin.Viewer, "wrong"}} {
		req := httptest.NewRequest(http.MethodGet, "/status", nil)
		req.Header.Set("Authorization", "Bearer "+c.secret)
		rec := httptest.NewRecorder()
		api.Guard(c.need, hello).ServeHTTP(rec, req)
		if rec.Code == http.StatusOK {
			fmt.Println(rec.Code, rec.Body.String())
		} else {
			fmt.Println(rec.Code)
		}
	}
	// Output:
	// 200 hello grafana (viewer)
	// 403
	// 401
}
