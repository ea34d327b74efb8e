package config

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gatescale/gatescale/gateway/accesslog"
)

const accessLogBase = "upstreams:\n  u: {instances: [\"a:1\"]}\nroutes:\n  - {name: r, path_prefix: /, upstream: u}\n"

func TestAccessLogSection(t *testing.T) {
	l, err := Parse("a.yaml", []byte(accessLogBase+`access_log:
  format: text
  fields: [status, path, client]
  sample_ratio: 0.25
  exclude_paths: [/healthz, "/internal/*"]
  output: /var/log/gatescale/access.log
`))
	if err != nil {
		t.Fatal(err)
	}
	o := l.AccessLog
	if o.Format != accesslog.FormatText || !slices.Equal(o.Fields, []string{"status", "path", "client"}) ||
		o.SampleRatio == nil || *o.SampleRatio != 0.25 || len(o.ExcludePaths) != 2 || o.Output != "/var/log/gatescale/access.log" {
		t.Errorf("options %+v", o)
	}
	if l, err := Parse("a.yaml", []byte(accessLogBase+"access_log: {sample_ratio: 1}\n")); err != nil || *l.AccessLog.SampleRatio != 1 {
		t.Errorf("integer ratio: %v", err)
	}
	if l, err := Parse("a.yaml", []byte(accessLogBase)); err != nil || l.AccessLog.Format != "" || l.AccessLog.Disabled {
		t.Errorf("no section: %+v %v", l, err)
	}
}

func TestAccessLogErrors(t *testing.T) {
	_, err := Parse("a.yaml", []byte(accessLogBase+`access_log:
  format: xml
  fields: [status, nope]
  sample_ratio: 2
  exclude_paths: [healthz]
`))
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		`a.yaml:6:11: access_log.format: "xml" is not one of json, text, common, combined`,
		`a.yaml:7:20: access_log.fields[1]: "nope" is not a field`,
		`a.yaml:8:17: access_log.sample_ratio: 2 is not between 0 and 1`,
		`a.yaml:9:19: access_log.exclude_paths[0]: "healthz" must begin with /`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in\n%v", want, err)
		}
	}
	_, err = Parse("a.yaml", []byte(accessLogBase+"access_log:\n  outptu: x\n"))
	if err == nil || !strings.Contains(err.Error(), "a.yaml:6:3: access_log.outptu: unknown key (did you mean output?)") {
		t.Errorf("err = %v", err)
	}
	_, err = Parse("a.yaml", []byte(accessLogBase+"access_log: {format: common, fields: [status]}\n"))
	if err == nil || !strings.Contains(err.Error(), "a.yaml:5:38: access_log.fields: do not apply to format common") {
		t.Errorf("err = %v", err)
	}
}

// An output that cannot be opened is reported at its line when the file is
// made live; the access log in force stays.
func TestPrepareAccessLog(t *testing.T) {
	dir := t.TempDir()
	log, err := accesslog.New(accesslog.Options{Output: filepath.Join(dir, "a.log")})
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	bad := filepath.Join(dir, "missing", "b.log")
	l, err := Parse("a.yaml", []byte(accessLogBase+"access_log:\n  output: "+bad+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.PrepareAccessLog(log, accesslog.FormatText); err == nil || !strings.Contains(err.Error(), "a.yaml:6:11: access_log.output: open "+bad) {
		t.Fatalf("err = %v", err)
	}
	good, _ := Parse("a.yaml", []byte(accessLogBase+"access_log:\n  output: "+filepath.Join(dir, "c.log")+"\n"))
	p, err := good.PrepareAccessLog(log, accesslog.FormatText)
	if err != nil {
		t.Fatal(err)
	}
	p.Commit()
	if o := log.Options(); o.Format != accesslog.FormatText || o.Output != filepath.Join(dir, "c.log") {
		t.Errorf("in force: %+v", o)
	}
}
