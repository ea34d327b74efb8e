package consumer_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"log/slog"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatescale/gatescale/gateway/consumer"
)

func TestMemoryLookups(t *testing.T) {
	key, hash := consumer.GenerateKey("gsk_")
	if !strings.HasPrefix(key, "gsk_") || len(key) < 40 {
		t.Fatalf("GenerateKey = %q", key)
	}
	m, err := consumer.NewMemory([]consumer.Consumer{
		{ID: "alice", Roles: []string{"admin"}, APIKeys: []consumer.APIKey{{ID: "alice-1", SHA256: hash.String()}},
			Certificates: []string{"dns:Alice.Example.com", "cn:alice"}},
		{ID: "bob"},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c, kid, err := m.ByAPIKey(ctx, consumer.HashKey(key))
	if err != nil || c.ID != "alice" || kid != "alice-1" {
		t.Fatalf("ByAPIKey = %v %q %v", c, kid, err)
	}
	if _, _, err := m.ByAPIKey(ctx, consumer.HashKey(key+"x")); !errors.Is(err, consumer.ErrNotFound) {
		t.Fatalf("ByAPIKey(wrong key) err = %v", err)
	}
	if c, err := m.ByCertificate(ctx, "dns:alice.example.com"); err != nil || c.ID != "alice" {
		t.Fatalf("ByCertificate(dns, other case) = %v %v", c, err)
	}
	if _, err := m.ByCertificate(ctx, "cn:ALICE"); !errors.Is(err, consumer.ErrNotFound) {
		t.Fatalf("common names are compared exactly, got %v", err)
	}
	if c, err := m.Consumer(ctx, "bob"); err != nil || c.ID != "bob" {
		t.Fatalf("Consumer(bob) = %v %v", c, err)
	}

	// Put replaces, Delete removes, and a bad Put changes nothing.
	if err := m.Put(consumer.Consumer{ID: "bob", Roles: []string{"ops"}}); err != nil {
		t.Fatal(err)
	}
	if c, _ := m.Consumer(ctx, "bob"); !slices.Equal(c.Roles, []string{"ops"}) {
		t.Fatalf("after Put: %+v", c)
	}
	if err := m.Put(consumer.Consumer{ID: "carol", APIKeys: []consumer.APIKey{{ID: "c", SHA256: hash.String()}}}); err == nil {
		t.Fatal("Put accepted a key already owned by alice")
	}
	if _, err := m.Consumer(ctx, "carol"); !errors.Is(err, consumer.ErrNotFound) {
		t.Fatal("a refused Put was stored")
	}
	if !m.Delete("alice") || m.Delete("alice") {
		t.Fatal("Delete did not report existence")
	}
	if _, _, err := m.ByAPIKey(ctx, hash); !errors.Is(err, consumer.ErrNotFound) {
		t.Fatal("a deleted consumer's key still authenticates")
	}
	// List returns copies.
	l := m.List()
	l[0].Roles[0] = "changed"
	if c, _ := m.Consumer(ctx, "bob"); c.Roles[0] != "ops" {
		t.Fatal("List shares memory with the store")
	}
}

func TestValidate(t *testing.T) {
	h := consumer.HashKey("k").String()
	err := consumer.Validate([]consumer.Consumer{
		{ID: ""},
		{ID: "a", APIKeys: []consumer.APIKey{{ID: "k1", SHA256: "zz"}, {ID: "", SHA256: h}}},
		{ID: "a", APIKeys: []consumer.APIKey{{ID: "k3", SHA256: h}}, Certificates: []string{"cn:", "foo:bar", "sha256:12"}},
	})
	want := []string{
		"consumers[0].id: is required",
		`consumers[1].api_keys[0].sha256: "zz" is not a hex SHA-256`,
		"consumers[1].api_keys[1].id: is required",
		`consumers[2].id: "a" is already used`,
		"consumers[2].api_keys[0].sha256: the same key is listed twice",
		`consumers[2].certificates[0]: "cn:" is not one of`,
		`consumers[2].certificates[1]: "foo:bar" is not one of`,
		`consumers[2].certificates[2]: "sha256:12" is not one of`,
	}
	wantErrorLines(t, err, want)
}

func TestCertIdentities(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse("spiffe://example.org/ns/a/sa/b")
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "svc-a", Organization: []string{"Acme"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		DNSNames: []string{"A.example.com"}, EmailAddresses: []string{"a@example.com"}, URIs: []*url.URL{u},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	ids := consumer.CertIdentities(cert)
	want := []string{"uri:spiffe://example.org/ns/a/sa/b", "dns:a.example.com", "email:a@example.com", "subject:CN=svc-a,O=Acme", "cn:svc-a"}
	if len(ids) != len(want)+1 || !strings.HasPrefix(ids[0], "sha256:") || len(ids[0]) != len("sha256:")+64 || !slices.Equal(ids[1:], want) {
		t.Fatalf("CertIdentities = %q", ids)
	}
}

func TestIdentity(t *testing.T) {
	var none *consumer.Identity
	if !none.Anonymous() || none.HasScope("x") {
		t.Fatal("a nil identity must be anonymous with nothing")
	}
	id := &consumer.Identity{ConsumerID: "a", Scopes: []string{"r"}, Roles: []string{"admin"}, Groups: []string{"g"}}
	if id.Anonymous() || !id.HasScope("r") || !id.HasRole("admin") || !id.HasGroup("g") || id.HasScope("w") {
		t.Fatal("identity accessors")
	}
	ctx := consumer.NewContext(context.Background(), id)
	if consumer.FromContext(ctx) != id || consumer.FromContext(context.Background()) != nil {
		t.Fatal("context round trip")
	}
	if got := consumer.Merge([]string{"a", "b", ""}, []string{"b", "c", "a"}); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Fatalf("Merge = %q", got)
	}
}

func TestFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "consumers.yaml")
	h := consumer.HashKey("secret-key-1").String()
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("consumers:\n  - id: alice\n    api_keys: [{id: k1, sha256: " + h + "}]\n")
	f, err := consumer.LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if c, _, err := f.ByAPIKey(ctx, consumer.HashKey("secret-key-1")); err != nil || c.ID != "alice" {
		t.Fatalf("ByAPIKey = %v %v", c, err)
	}
	if changed, err := f.Reload(); changed || err != nil {
		t.Fatalf("Reload of an unchanged file = %v %v", changed, err)
	}

	// A bad file is refused and alice stays.
	write("consumers:\n  - id: alice\n    rolez: [x]\n")
	if changed, err := f.Reload(); changed || err == nil || !strings.HasPrefix(err.Error(), path+":3:5: ") {
		t.Fatalf("Reload of a bad file = %v %v", changed, err)
	}
	if _, err := f.Consumer(ctx, "alice"); err != nil {
		t.Fatal("a refused file removed alice")
	}
	write("consumers:\n  - id: bob\n")
	if changed, err := f.Reload(); !changed || err != nil {
		t.Fatalf("Reload = %v %v", changed, err)
	}
	if _, err := f.Consumer(ctx, "alice"); !errors.Is(err, consumer.ErrNotFound) {
		t.Fatal("alice survived a reload that removed her")
	}

	// Watch picks up a change.
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { f.Watch(wctx, 10*time.Millisecond, slog.New(slog.DiscardHandler)); close(done) }()
	write("consumers:\n  - id: carol\n")
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := f.Consumer(ctx, "carol"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Watch did not apply the new file")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
}

func TestParseFileErrors(t *testing.T) {
	cases := map[string]string{
		"":                                   "c.yaml: the file is empty",
		"consumers: [\n":                     "c.yaml:1:12: ",
		"consumers:\n  - id: a\n  - id: a\n": `c.yaml: consumers[1].id: "a" is already used`,
		"users: []\n":                        "c.yaml:1:1: ",
	}
	for doc, want := range cases {
		_, err := consumer.ParseFile("c.yaml", []byte(doc))
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("ParseFile(%q) = %v, want prefix %q", doc, err, want)
		}
	}
}

// TestValidateIDsFitHeaders: a consumer's ID and its keys' IDs are sent
// upstream in identity headers (authn.Forward), used in rate-limit keys and
// logged. An ID a header cannot carry (a control character) made the
// gateway send an authenticated request upstream with no consumer header
// at all; one with white space at an end reached the upstream trimmed, as
// another consumer's ID ("alice " as "alice"). They are refused, as JWT
// subjects with control characters are, and so are IDs over 256 bytes.
func TestValidateIDsFitHeaders(t *testing.T) {
	h := consumer.HashKey("k").String()
	long := strings.Repeat("a", 257)
	err := consumer.Validate([]consumer.Consumer{
		{ID: "alice\r\nX-Admin: 1"},
		{ID: "alice "},
		{ID: "\talice"},
		{ID: long},
		{ID: "ok", APIKeys: []consumer.APIKey{{ID: "cli\x00", SHA256: h}}},
	})
	want := []string{
		`consumers[0].id: "alice\r\nX-Admin: 1" `,
		`consumers[1].id: "alice " `,
		`consumers[2].id: "\talice" `,
		`consumers[3].id: is 257 bytes long`,
		`consumers[4].api_keys[0].id: "cli\x00" `,
	}
	wantErrorLines(t, err, want)
	// What stays valid: inner spaces, punctuation, UTF-8, 256 bytes.
	if err := consumer.Validate([]consumer.Consumer{{ID: "Acme Corp"}, {ID: "team:a/b#2"}, {ID: "zoë"}, {ID: long[:256]},
		{ID: "k", APIKeys: []consumer.APIKey{{ID: "alice cli", SHA256: h}}}}); err != nil {
		t.Fatalf("valid IDs refused: %v", err)
	}
}

// wantErrorLines checks that err has one line per want, each beginning
// with it.
func wantErrorLines(t *testing.T, err error, want []string) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%s", len(lines), len(want), err)
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("error %d = %q, want prefix %q", i, lines[i], w)
		}
	}
}

// TestParseFileRefusesLimitsNoLimiterHolds: a consumers file (or the admin
// API) with a limit the rate limiter cannot hold — more than one request a
// nanosecond, or a burst whose depth (burst × per / rate) is beyond a
// time.Duration — was accepted, and ratelimit.ConsumerLimits then left the
// limit out: the consumer called without it. The file is refused instead,
// naming the limit.
func TestParseFileRefusesLimitsNoLimiterHolds(t *testing.T) {
	cases := map[string]string{
		"consumers:\n  - {id: a, rate_limit: [{rate: 2000000000}]}\n":                    "c.yaml: consumers[0].rate_limit[0].rate: 2000000000 per 1s is more than one request a nanosecond",
		"consumers:\n  - {id: a, rate_limit: [{rate: 1, per: 8760h, burst: 1000}]}\n":    "c.yaml: consumers[0].rate_limit[0].burst: 1000 at rate 1 per 8760h0m0s spans more than 292 years",
		"consumers:\n  - {id: a, rate_limit: [{rate: 1, per: 8760h, burst: 292}]}\n":     "",
		"consumers:\n  - {id: a, rate_limit: [{rate: 1000000000, per: 1s, burst: 5}]}\n": "",
		"consumers:\n  - {id: a, rate_limit: [{rate: 1000000001, per: 1s, burst: 5}]}\n": "c.yaml: consumers[0].rate_limit[0].rate: 1000000001 per 1s",
	}
	for doc, want := range cases {
		_, err := consumer.ParseFile("c.yaml", []byte(doc))
		switch {
		case want == "" && err != nil:
			t.Errorf("ParseFile(%q) = %v, want no error", doc, err)
		case want != "" && (err == nil || !strings.HasPrefix(err.Error(), want)):
			t.Errorf("ParseFile(%q) = %v, want prefix %q", doc, err, want)
		}
	}
}
