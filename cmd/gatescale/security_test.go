package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gatescale/gatescale/gateway/consumer"
)

func TestAPIKeyCommand(t *testing.T) {
	var out strings.Builder
	if err := run(context.Background(), []string{"apikey", "-id", "billing-2"}, &out, &out); err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?s)it is not stored\): (gsk_\S+)\n.*\{id: billing-2, sha256: ([0-9a-f]{64})\}`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("output:\n%s", out.String())
	}
	if consumer.HashKey(m[1]).String() != m[2] {
		t.Fatal("the printed hash is not the key's")
	}
}

// validate reads the files a configuration names, as run would, and
// reports a missing one at the key that names it.
func TestValidateReadsFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "gatescale.yaml")
	doc := "auth:\n  jwt:\n    idp: {issuer: i, audiences: [a], algorithms: [RS256], keys_file: " + filepath.Join(dir, "missing.pem") + "}\n"
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	err := run(context.Background(), []string{"validate", "-config", path}, &out, &out)
	if err == nil || !strings.Contains(err.Error(), path+":3:") || !strings.Contains(err.Error(), "auth.jwt.idp.keys_file: open ") {
		t.Fatalf("validate: %v", err)
	}
}
