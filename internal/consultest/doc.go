// Package consultest starts real Consul agents for tests, through
// github.com/hashicorp/consul/sdk/testutil, with the binary that
// hack/build-consul.sh caches in .cache/bin. An agent can be stopped and
// started again on the same ports with its data, which is how tests show a
// watch surviving a Consul restart.
package consultest
