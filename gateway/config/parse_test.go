package config

import "testing"

// A false written for a pointer setting is kept: the decoder alone would
// leave the pointer nil, and passing_only: false would read as unset
// (default true).
func TestFalseIsNotUnset(t *testing.T) {
	l, err := Parse("f.yaml", []byte("upstreams:\n  u: {discovery: consul, consul: {passing_only: false}}\nroutes: [{name: r, path: /, upstream: u}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if p := l.File.Upstreams["u"].Consul.PassingOnly; p == nil || *p {
		t.Errorf("passing_only = %v, want false", p)
	}
}

// TestConsulStaleParsed: the key reaches the upstream's Consul query.
func TestConsulStaleParsed(t *testing.T) {
	l, err := Parse("f.yaml", []byte("upstreams:\n  u: {discovery: consul, consul: {stale: true}}\nroutes: [{name: r, path: /, upstream: u}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !l.File.Upstreams["u"].Consul.Stale {
		t.Error("stale = false, want true")
	}
}
