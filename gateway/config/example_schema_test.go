package config_test

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/gatescale/gatescale/gateway/accesslog"
	"github.com/gatescale/gatescale/gateway/config"
)

// The schema is generated from the Go types; "" leaves out the
// descriptions read from the source.
func ExampleSchema() {
	b, err := config.Schema("")
	if err != nil {
		panic(err)
	}
	var s struct {
		Defs map[string]struct {
			Properties map[string]struct {
				Enum []string `json:"enum"`
			} `json:"properties"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(b, &s); err != nil {
		panic(err)
	}
	fmt.Println(s.Defs["spec.Upstream"].Properties["balancer"].Enum)
	fmt.Println(s.Defs["accesslog.Options"].Properties["format"].Enum)
	// Output:
	// [round_robin weighted p2c hash]
	// [json text common combined]
}

// The access_log section is prepared with the rest of the file and
// committed once the file is in force.
func ExampleLoaded_PrepareAccessLog() {
	log, _ := accesslog.New(accesslog.Options{Writer: io.Discard})
	defer log.Close()
	l, err := config.Parse("gatescale.yaml", []byte(`upstreams:
  users: {instances: ["127.0.0.1:9001"]}
routes:
  - {name: users, path_prefix: /users, upstream: users}
access_log:
  exclude_paths: [/healthz]
  output: stdout
`))
	if err != nil {
		panic(err)
	}
	p, err := l.PrepareAccessLog(log, accesslog.FormatJSON)
	if err != nil {
		panic(err)
	}
	// ... apply the rest of l; then:
	p.Commit()
	fmt.Println(log.Options().Format, log.Options().ExcludePaths, log.Options().Output)
	// Output: json [/healthz] stdout
}
