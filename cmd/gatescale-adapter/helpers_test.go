package main

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"github.com/gatescale/gatescale/adapter/kube"
)

// startAdapter runs `serve` with args in-process on a free port, without a
// kube-apiserver (anonymous requests allowed, objects from objs), and
// stops it when the test ends.
func startAdapter(t *testing.T, objs kube.Objects, args ...string) (*adapter, *rest.Config) {
	t.Helper()
	a, err := newAdapter(args, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a.server.SecureServing.Listener = ln
	a.server.SecureServing.BindAddress = net.ParseIP("127.0.0.1")
	a.server.AllowAnonymous = true
	a.objects = objs
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("adapter did not stop")
		}
	})
	select {
	case <-a.built:
	case err := <-done:
		t.Fatalf("serve: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("adapter did not start")
	}
	rc := &rest.Config{Host: "https://" + ln.Addr().String(), TLSClientConfig: rest.TLSClientConfig{Insecure: true}}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, Timeout: time.Second}
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := hc.Get(rc.Host + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("adapter at %s not ready", rc.Host)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return a, rc
}
