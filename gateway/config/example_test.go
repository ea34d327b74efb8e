package config_test

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/gatescale/gatescale/gateway/config"
)

func ExampleParse() {
	doc := `
upstreams:
  users:
    instances: [127.0.0.1:9001, {addr: 127.0.0.1:9002, weight: 3}]
    balancer: weighted
    active_health: {path: /healthz}
    panic_threshold: 50
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
	fmt.Println(u.Balancer, len(u.Instances), u.Instances[1].Weight, u.PanicThreshold)
	fmt.Println(r.Name, r.PathPrefix, r.Methods, r.MaxBodyBytes, r.Upstream)

	// Every problem is reported, with its position and key path.
	_, err = config.Parse("gatescale.yaml", []byte(`
upstreams:
  users:
    instances: [127.0.0.1]
    panic_threshold: 150
routes:
  - name: users
    path: /users
    upstream: userz
`))
	fmt.Println(err)
	// Output:
	// 127.0.0.1:8080 127.0.0.1:9090 5s
	// weighted 2 3 50
	// users /users [get] 1048576 users
	// gatescale.yaml:4:17: upstreams.users.instances[0]: addr must be host:port: address 127.0.0.1: missing port in address
	// gatescale.yaml:5:22: upstreams.users.panic_threshold: must be a percentage from 0 (off) to 100, not 150
	// gatescale.yaml:9:15: routes[0].upstream: "userz" is not defined (defined: users)
}

// Load reads the file and parses it like Parse; the path names the file in
// every error.
func ExampleLoad() {
	dir, err := os.MkdirTemp("", "config")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "gatescale.yaml")
	doc := []byte(`
listen: 127.0.0.1:8000
upstreams:
  users:
    instances: [127.0.0.1:9001]
routes:
  - name: users
    path_prefix: /users
    upstream: users
`)
	if err := os.WriteFile(path, doc, 0o600); err != nil {
		fmt.Println(err)
		return
	}

	l, err := config.Load(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(l.Listen, l.AdminListen, l.Spec.Routes[0].Name, l.Spec.Routes[0].Upstream)
	// A reload compares Hash to skip a file whose bytes did not change.
	fmt.Println(l.Hash == sha256.Sum256(doc))

	// A file that cannot be read is an error naming its path.
	_, err = config.Load("testdata/missing.yaml")
	fmt.Println(err, errors.Is(err, fs.ErrNotExist))
	// Output:
	// 127.0.0.1:8000 127.0.0.1:9090 users users
	// true
	// testdata/missing.yaml: no such file or directory true
}
