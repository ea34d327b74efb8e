package main

import (
	"context"
	"strings"
	"testing"

	"github.com/gatescale/gatescale/gateway/ratelimit/redistest"
)

// The walk-through must show what the example's doc says: each policy
// doing its job.
func TestWalkThrough(t *testing.T) {
	for _, mode := range []string{"local", "redis"} {
		t.Run(mode, func(t *testing.T) {
			o := options{listen: "127.0.0.1:0", walkOnly: true}
			if mode == "redis" {
				o.redis = redistest.Start(t).Addr
			}
			var out strings.Builder
			if err := run(context.Background(), o, &out); err != nil {
				t.Fatal(err)
			}
			want := []string{
				"no credentials:                      GET /orders/1                → 401 missing_credentials",
				"billing's API key:                   GET /orders/1                → 200 orders service: GET /orders/1 for billing-service (api_key)",
				"a wrong API key:                     GET /orders/1                → 401 unknown_api_key",
				"bob's token (orders:read):           GET /orders/2                → 200 orders service: GET /orders/2 for bob (jwt)",
				"bob tries to write:                  POST /orders                  → 403 missing_scope: missing scope for POST: orders:write",
				"an expired token:                    GET /orders/1                → 401 expired",
				"a token with alg none:               GET /orders/1                → 401 algorithm_not_allowed",
				"spoofing X-Consumer-Id:              GET /orders/3                → 200 orders service: GET /orders/3 for bob (jwt)",
				"the admin route, as bob:             GET /admin/stats             → 403 missing_role",
				"the admin route, as an admin:        GET /ADMIN/Stats             → 200 orders service: GET /admin/stats for ann (jwt)",
				"the admin route by another path:     GET /public/../admin/stats   → 401 missing_credentials",
				"...with an encoded slash:            GET /admin%2fstats           → 400 malformed request path",
				"...with an overlong UTF-8 slash:     GET /%c0%afadmin/stats       → 400 malformed request path",
				"a public page:                       GET /hello                   → 200 orders service: GET /hello for nobody",
				"bob's 3rd order request this minute: GET /orders/4                → 200",
				"bob's 4th:                           GET /orders/5                → 200",
				"bob's 5th (the limit is 4 a minute): GET /orders/6                → 429 exceeded: rate limit \"orders-per-consumer\"",
			}
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			if len(lines) != len(want) {
				t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(want), out.String())
			}
			for i, w := range want {
				if !strings.HasPrefix(lines[i], w) {
					t.Errorf("line %d:\n got %s\nwant %s...", i, lines[i], w)
				}
			}
		})
	}
}
