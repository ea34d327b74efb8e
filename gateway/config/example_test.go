package config_test

import (
	"fmt"

	"github.com/gatescale/gatescale/gateway/config"
)

func ExampleParse() {
	doc := `
upstreams:
  users:
    instances: [127.0.0.1:9001, {addr: 127.0.0.1:9002, weight: 3}]
    balancer: weighted
routes:
  - name: users
    path_prefix: /users
    methods: [get]
    max_body_bytes: 1MiB
    upstream: users
`
	l, err := config.Parse("gatescale.yaml", []byte(doc))
	if err != nil {
		fmt.Println(err)
		return
	}
	u, r := l.Spec.Upstreams["users"], l.Spec.Routes[0]
	fmt.Println(l.Listen, l.AdminListen, l.DrainPeriod)
	fmt.Println(u.Balancer, len(u.Instances), u.Instances[1].Weight)
	fmt.Println(r.Name, r.PathPrefix, r.Methods, r.MaxBodyBytes, r.Upstream)

	// Every problem is reported, with its position and key path.
	_, err = config.Parse("gatescale.yaml", []byte(`
upstreams:
  users:
    instances: [127.0.0.1]
routes:
  - name: users
    path: /users
    upstream: userz
`))
	fmt.Println(err)
	// Output:
	// 127.0.0.1:8080 127.0.0.1:9090 5s
	// weighted 2 3
	// users /users [get] 1048576 users
	// gatescale.yaml:4:17: upstreams.users.instances[0]: addr must be host:port: address 127.0.0.1: missing port in address
	// gatescale.yaml:8:15: routes[0].upstream: "userz" is not defined (defined: users)
}
