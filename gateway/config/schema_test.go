package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/gatescale/gatescale/internal/yamlschema"
)

const (
	repoRoot   = "../.."
	schemaFile = "../../docs/gatescale.schema.json"
)

// walkKeys calls visit for every key the parser knows, with its path
// ("routes[].auth.methods", "upstreams.*.instances[].addr"): yamlFields
// from File down, the walk TestDocs makes for the table rows.
func walkKeys(visit func(path, key string)) {
	var walk func(t reflect.Type, path string, depth int)
	walk = func(t reflect.Type, path string, depth int) {
		for {
			switch t.Kind() {
			case reflect.Pointer:
				t = t.Elem()
				continue
			case reflect.Slice, reflect.Array:
				t, path = t.Elem(), path+"[]"
				continue
			case reflect.Map:
				t, path = t.Elem(), path+".*"
				continue
			}
			break
		}
		if t.Kind() != reflect.Struct || depth > 12 {
			return
		}
		for key, f := range yamlFields(t) {
			p := key
			if path != "" {
				p = path + "." + key
			}
			visit(p, key)
			walk(f.Type, p, depth+1)
		}
	}
	walk(reflect.TypeFor[File](), "", 0)
}

// TestMain checks, after the package's tests, that every document Parse
// accepted during them is valid under the schema: the tests' many
// configurations, built in every way they are built.
func TestMain(m *testing.M) {
	var mu sync.Mutex
	accepted := map[string][]byte{}
	testHookParsed = func(name string, data []byte) {
		mu.Lock()
		defer mu.Unlock()
		accepted[string(data)] = data
	}
	code := m.Run()
	testHookParsed = nil
	if code == 0 && len(accepted) > 0 {
		sch, err := compiled()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		bad := 0
		for _, data := range accepted {
			if err := validateWith(sch, data); err != nil {
				bad++
				fmt.Fprintf(os.Stderr, "FAIL: a configuration the parser accepted is refused by the schema: %v\n%s\n", err, data)
			}
		}
		if bad > 0 {
			code = 1
		} else if testing.Verbose() {
			fmt.Printf("all %d configurations the tests parsed are valid under the schema\n", len(accepted))
		}
	}
	os.Exit(code)
}

// The committed schema is what the code generates now.
func TestSchemaUpToDate(t *testing.T) {
	want, err := Schema(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("docs/gatescale.schema.json is stale: run go generate ./gateway/config (or make schema)")
	}
}

// Every key the parser knows is in the schema, and the schema has no key
// the parser does not know.
func TestSchemaKeysAgree(t *testing.T) {
	var schema yamlschema.Schema
	b, err := Schema("")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &schema); err != nil {
		t.Fatal(err)
	}
	inSchema := yamlschema.Keys(toSchema(schema))
	var known []string
	walkKeys(func(path, _ string) { known = append(known, path) })
	slices.Sort(known)
	for _, k := range known {
		if _, found := slices.BinarySearch(inSchema, k); !found {
			t.Errorf("the parser knows %s; the schema does not", k)
		}
	}
	for _, k := range inSchema {
		if _, found := slices.BinarySearch(known, k); !found {
			t.Errorf("the schema has %s; the parser does not know it", k)
		}
	}
	if len(known) < 100 {
		t.Errorf("only %d keys walked", len(known))
	}
}

// toSchema turns decoded JSON objects into yamlschema.Schema values.
func toSchema(v any) yamlschema.Schema {
	var conv func(any) any
	conv = func(v any) any {
		switch v := v.(type) {
		case map[string]any:
			out := yamlschema.Schema{}
			for k, e := range v {
				out[k] = conv(e)
			}
			return out
		case []any:
			for i := range v {
				v[i] = conv(v[i])
			}
		}
		return v
	}
	return conv(v).(yamlschema.Schema)
}

var compiled = sync.OnceValues(func() (*jsonschema.Schema, error) {
	b, err := os.ReadFile(schemaFile)
	if err != nil {
		return nil, err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(SchemaID, doc); err != nil {
		return nil, err
	}
	return c.Compile(SchemaID)
})

// validateYAML checks a YAML document against the committed schema.
func validateYAML(t *testing.T, data []byte) error {
	t.Helper()
	sch, err := compiled()
	if err != nil {
		t.Fatal(err)
	}
	return validateWith(sch, data)
}

func validateWith(sch *jsonschema.Schema, data []byte) error {
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		return err
	}
	js, err := json.Marshal(v)
	if err != nil {
		return err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(js))
	if err != nil {
		return err
	}
	return sch.Validate(inst)
}

// configFiles are the repository's configuration files: the examples,
// the test data, and the yaml blocks of the docs that the parser accepts
// (the others are fragments).
func configFiles(t *testing.T) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	b, err := os.ReadFile("testdata/gatescale.yaml")
	if err != nil {
		t.Fatal(err)
	}
	out["testdata/gatescale.yaml"] = b
	// examples/secured fills in its template as its main.go does.
	b, err = os.ReadFile("../../examples/secured/gatescale.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, store := range []string{"local", "redis"} {
		settings := ""
		if store == "redis" {
			settings = "rate_limit:\n  redis: {addr: \"127.0.0.1:6379\"}\n"
		}
		out["examples/secured/gatescale.yaml with "+store] = []byte(strings.NewReplacer("$LISTEN", "127.0.0.1:0", "$ADMIN", "127.0.0.1:0",
			"$JWKS_URL", "http://127.0.0.1:1/jwks", "$KEY_HASH", strings.Repeat("ab", 32), "$BACKEND", "127.0.0.1:1",
			"$STORE", store, "$RATE_LIMIT_SETTINGS", settings).Replace(string(b)))
	}
	docs, _ := filepath.Glob("../../docs/*.md")
	block := regexp.MustCompile("(?s)```yaml\n(.*?)```\n")
	for _, d := range docs {
		b, err := os.ReadFile(d)
		if err != nil {
			t.Fatal(err)
		}
		for i, m := range block.FindAllSubmatch(b, -1) {
			if _, err := Parse(d, m[1]); err == nil {
				out[fmt.Sprintf("%s block %d", d, i)] = m[1]
			}
		}
	}
	return out
}

// Every example and test configuration is valid under the schema: the
// files, the docs' complete blocks, and every YAML document in the
// repository's Go sources (tests included) that the parser accepts.
func TestSchemaValidatesConfigs(t *testing.T) {
	files := configFiles(t)
	if len(files) < 4 {
		t.Errorf("only %d configuration files found", len(files))
	}
	for name, data := range files {
		if _, err := Parse(name, data); err != nil {
			t.Errorf("%s does not parse: %v", name, err)
		}
		if err := validateYAML(t, data); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if !bytes.Contains(data, []byte("# yaml-language-server: $schema=")) && !strings.Contains(name, "block") {
			t.Errorf("%s has no yaml-language-server line", name)
		}
	}
	accepted := 0
	for name, data := range goYAMLDocs(t) {
		if _, err := Parse(name, data); err != nil {
			continue // a fragment, a template or a deliberate mistake
		}
		accepted++
		if err := validateYAML(t, data); err != nil {
			t.Errorf("%s: accepted by the parser, refused by the schema: %v\n%s", name, err, data)
		}
	}
	if accepted < 30 {
		t.Errorf("only %d configurations found in Go sources", accepted)
	}
	t.Logf("%d files and doc blocks, %d configurations in Go sources", len(files), accepted)
}

// goYAMLDocs returns the string constants of the repository's Go files
// that look like a configuration file (a line beginning upstreams:,
// routes: or listen:).
func goYAMLDocs(t *testing.T) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	looks := regexp.MustCompile(`(?m)^(upstreams|routes|listen):`)
	err := filepath.WalkDir(repoRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && path != repoRoot || d.Name() == "testdata" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return nil
		}
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(lit.Value)
			if err == nil && looks.MatchString(s) {
				out[fset.Position(lit.Pos()).String()] = []byte(s)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// The schema refuses what the parser refuses for its shape: unknown keys,
// bad durations and sizes, values outside a closed set.
func TestSchemaRefuses(t *testing.T) {
	base := "upstreams:\n  u:\n    instances: [\"a:1\"]\nroutes:\n  - {name: r, path_prefix: /, upstream: u}\n"
	for _, doc := range []string{
		base + "listn: x\n",
		base + "drain_period: 5\n",
		base + "drain_period: 5 seconds\n",
		base + "limits: {max_body_bytes: 1 MiBs}\n",
		base + "limits: {max_body_bytes: 1.5}\n",
		strings.Replace(base, `instances: ["a:1"]`, "instances: [{adr: a:1}]", 1),
		strings.Replace(base, `instances: ["a:1"]`, "instances: [\"a:1\"]\n    balancer: random", 1),
		strings.Replace(base, "upstream: u}", "upstream: u, lifecycle: {state: gone}}", 1),
		base + "access_log: {format: xml}\n",
		base + "access_log: {fields: [nope]}\n",
		base + "access_log: {sample_ratio: 2}\n",
		base + "access_log: {exclude_paths: [healthz]}\n",
		base + "tls: {cert_file: c, key_file: k, min_version: \"1.1\"}\n",
	} {
		if err := validateYAML(t, []byte(doc)); err == nil {
			t.Errorf("schema accepts:\n%s", doc)
		}
		if _, err := Parse("t.yaml", []byte(doc)); err == nil {
			t.Errorf("parser accepts:\n%s", doc)
		}
	}
	for _, doc := range []string{
		base + "drain_period: 1m30s\nshutdown_timeout: 0\n",
		base + "limits: {max_body_bytes: 1 MiB, max_header_bytes: 65536}\n",
		base + "x-anchors: {a: &a 1}\n",
	} {
		if err := validateYAML(t, []byte(doc)); err != nil {
			t.Errorf("schema refuses %v:\n%s", err, doc)
		}
	}
}

// Each value of a closed set (or form, or range) in the schema is one the
// parser accepts, and a value outside it is refused by both, with the
// parser's own message for that key. Every entry of schemaKeys is checked.
func TestSchemaKeywordsAgree(t *testing.T) {
	const (
		base      = "upstreams:\n  u:\n    instances: [\"a:1\"]\n%s\nroutes:\n  - name: r\n    path_prefix: /\n    upstream: u\n%s\n%s\n"
		quoteList = "[%q]"
	)
	type place struct {
		up, route, top string // the key's place, with %s for its value
		refusal        string // what the parser says of a value outside the set
		values         []string
		bad            string
	}
	places := map[string]place{
		"Upstream.balancer":  {up: "    balancer: %s", refusal: "unknown balance policy"},
		"Upstream.discovery": {up: "    discovery: %s", refusal: "is not supported (valid: static"},
		"Upstream.protocol":  {up: "    protocol: %s", refusal: "is not a protocol"},
		"Upstream.panic_threshold": {up: "    panic_threshold: %s", refusal: "must be a percentage from 0 (off) to 100",
			values: []string{"0", "50", "100"}, bad: "101"},
		"Policy.percent": {up: "  m: {instances: [\"b:1\"]}", route: "    mirror: {upstream: m, percent: %s}", refusal: "is not a percentage (0-100)",
			values: []string{"0", "30", "100"}, bad: "101"},
		"Lifecycle.state":       {route: "    lifecycle: {state: %s}", refusal: "want draft, published"},
		"RouteAuth.methods":     {route: "    auth: {methods: " + quoteList + "}", refusal: "is not an authentication method"},
		"RateLimitPolicy.store": {route: "    rate_limit: [{rate: 1, store: %s}]", refusal: "is not local or redis"},
		"RateLimitPolicy.failure_mode": {route: "    rate_limit: [{rate: 1, store: redis, failure_mode: %s}]",
			top: "rate_limit: {redis: {addr: \"127.0.0.1:6379\"}}", refusal: "is not open or closed"},
		"RateLimitPolicy.key": {route: "    rate_limit: [{rate: 1, key: %q}]", refusal: "is not route, ip, consumer, api_key or header:NAME",
			values: []string{"route", "ip", "consumer", "api_key", "header:X-Tenant"}, bad: "header:"},
		"Concurrency.key":           {route: "    concurrency: {max: 1, key: %s}", refusal: "is not route, ip or consumer"},
		"TLS.client_auth":           {top: "tls: {cert_file: c.pem, key_file: k.pem, client_ca_file: ca.pem, client_auth: %q}", refusal: "is not request or require"},
		"TLS.min_version":           {top: "tls: {cert_file: c.pem, key_file: k.pem, min_version: %q}", refusal: `is not "1.2" or "1.3"`},
		"Policy.authenticated":      {route: "    cache: {ttl: 1s, authenticated: %s}", refusal: "must be \"per_consumer\" or \"off\""},
		"CompressOptions.encodings": {route: "    compress: {encodings: " + quoteList + "}", refusal: `must be "gzip" or "zstd"`},
		"Options.format":            {top: "access_log: {format: %s}", refusal: "is not one of json, text"},
		"Tracing.incoming_context":  {top: "tracing: {endpoint: \"http://c:4317\", incoming_context: %s}", refusal: "is not \"continue\", \"restart\" or \"trusted_proxies\""},
		"Options.fields":            {top: "access_log: {fields: " + quoteList + "}", refusal: "is not a field"},
		"Options.sample_ratio":      {top: "access_log: {sample_ratio: %s}", refusal: "is not between 0 and 1", values: []string{"0", "0.5", "1"}, bad: "1.5"},
		"Options.exclude_paths":     {top: "access_log: {exclude_paths: " + quoteList + "}", refusal: "only allowed at the end", values: []string{"/healthz", "/internal/*"}, bad: "/a*b"},
	}
	doc := func(p place, v string) string {
		fill := func(s string) string {
			if strings.Contains(s, "%") {
				return fmt.Sprintf(s, v)
			}
			return s
		}
		up, route, top := fill(p.up), fill(p.route), fill(p.top)
		if p.up != "" && (v == "consul" || v == "kubernetes") {
			up = "    discovery: " + v + "\n    service: s"
			return fmt.Sprintf(strings.Replace(base, "    instances: [\"a:1\"]\n", "", 1), up, route, top)
		}
		if v == "hash" {
			up += "\n    hash: {header: X}"
		}
		return fmt.Sprintf(base, up, route, top)
	}
	checked := 0
	for k, kw := range schemaKeys {
		name := k.t.Name() + "." + k.key
		p, ok := places[name]
		if !ok {
			t.Errorf("schemaKeys has %s; place it in this test", name)
			continue
		}
		vals := p.values
		if vals == nil {
			vals, _ = kw["enum"].([]string)
		}
		if len(vals) == 0 {
			t.Errorf("%s: no values to check", name)
		}
		for _, v := range vals {
			d := doc(p, v)
			if _, err := Parse("t.yaml", []byte(d)); err != nil && strings.Contains(err.Error(), p.refusal) {
				t.Errorf("%s %q: in the schema, refused by the parser: %v", name, v, err)
			}
			if err := validateYAML(t, []byte(d)); err != nil {
				t.Errorf("%s %q: refused by the schema: %v\n%s", name, v, err, d)
			}
			checked++
		}
		bad := p.bad
		if bad == "" {
			bad = "not-a-value"
		}
		d := doc(p, bad)
		if _, err := Parse("t.yaml", []byte(d)); err == nil || !strings.Contains(err.Error(), p.refusal) {
			t.Errorf("%s %q: the parser does not refuse it with %q: %v\n%s", name, bad, p.refusal, err, d)
		}
		if err := validateYAML(t, []byte(d)); err == nil {
			t.Errorf("%s %q: the schema does not refuse it", name, bad)
		}
	}
	t.Logf("%d keys, %d values checked", len(schemaKeys), checked)
}
