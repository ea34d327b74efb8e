package config_test

import (
	"strings"
	"testing"

	"github.com/gatescale/gatescale/gateway/config"
)

// The route shadowing findings of a file are warnings at the less-protected
// route's place in the file, or errors with route_shadowing: refuse.
func TestParseRouteShadowing(t *testing.T) {
	doc := `upstreams:
  app: {instances: ["127.0.0.1:1"]}
consumers:
  - {id: ops, api_keys: [{id: k, sha256: 5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8}]}
routes:
  - {name: admin, path: /admin, upstream: app, auth: {methods: [api_key]}, case_insensitive: true}
  - {name: public, path_prefix: /, upstream: app}
`
	l, err := config.Parse("t.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	// case_insensitive closes /ADMIN; /admin/ and /admin.json remain.
	var got []string
	for _, w := range l.Warnings {
		got = append(got, w.Error()[:strings.Index(w.Error(), ": this route")])
	}
	want := []string{"t.yaml:7:33: routes[1].path_prefix: route shadowing (trailing_slash)", "t.yaml:7:33: routes[1].path_prefix: route shadowing (suffix)"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(l.Warnings) > 0 && !strings.Contains(l.Warnings[0].Message, `declare route "admin" with path_prefix: /admin instead of path`) {
		t.Errorf("fix: %s", l.Warnings[0].Message)
	}

	_, err = config.Parse("t.yaml", []byte("route_shadowing: refuse\n"+doc))
	if err == nil || !strings.Contains(err.Error(), "t.yaml:8:33: routes[1].path_prefix: route shadowing (trailing_slash)") {
		t.Errorf("refuse: %v", err)
	}
}
