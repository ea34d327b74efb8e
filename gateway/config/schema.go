package config

//go:generate go run ./internal/genschema -root ../.. -out ../../docs/gatescale.schema.json

import (
	"encoding/json"
	"reflect"
	"strings"
	"time"

	"github.com/gatescale/gatescale/gateway/accesslog"
	"github.com/gatescale/gatescale/gateway/cache"
	"github.com/gatescale/gatescale/gateway/consumer"
	"github.com/gatescale/gatescale/gateway/mirror"
	"github.com/gatescale/gatescale/gateway/spec"
	"github.com/gatescale/gatescale/gateway/tracing"
	"github.com/gatescale/gatescale/gateway/transform"
	"github.com/gatescale/gatescale/internal/yamlschema"
)

// SchemaID is where the published schema lives (docs/gatescale.schema.json).
const SchemaID = "https://raw.githubusercontent.com/gatescale/gatescale/main/docs/gatescale.schema.json"

// Patterns of the format's own scalars, in the subset of regular
// expressions that RE2 and ECMA-262 share.
const (
	// DurationPattern is a Go duration string (time.ParseDuration).
	DurationPattern = `^\s*[-+]?(0|(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)\s*$`
	// SizePattern is a byte count with an optional unit (units.Size).
	SizePattern = `^\s*[0-9]+\s*([bB]|[kKmMgGtT][bB]|[kKmMgGtT][iI][bB])?\s*$`
)

// schemaKeys add keywords to the schema of one key (of each item, for a
// list): the closed sets the validation checks, taken from the constants it
// checks against where they are exported, forms and bounds.
// TestSchemaKeywordsAgree holds each to the parser.
type schemaKey struct {
	t   reflect.Type
	key string
}

var schemaKeys = map[schemaKey]yamlschema.Schema{
	{reflect.TypeFor[spec.Upstream](), "balancer"}:              enum(spec.BalancerNames...),
	{reflect.TypeFor[spec.Upstream](), "discovery"}:             enum("static", "consul", "kubernetes"),
	{reflect.TypeFor[spec.Upstream](), "protocol"}:              enum(spec.UpstreamProtocols...),
	{reflect.TypeFor[spec.Upstream](), "panic_threshold"}:       {"minimum": 0, "maximum": 100},
	{reflect.TypeFor[mirror.Policy](), "percent"}:               {"minimum": 0, "maximum": 100},
	{reflect.TypeFor[spec.Lifecycle](), "state"}:                enum(spec.LifecycleDraft, spec.LifecyclePublished, spec.LifecycleDeprecated, spec.LifecycleRetired),
	{reflect.TypeFor[spec.RouteAuth](), "methods"}:              enum(consumer.MethodJWT, consumer.MethodAPIKey, consumer.MethodMTLS),
	{reflect.TypeFor[spec.RateLimitPolicy](), "store"}:          enum("local", "redis"),
	{reflect.TypeFor[spec.RateLimitPolicy](), "failure_mode"}:   enum("open", "closed"),
	{reflect.TypeFor[spec.Concurrency](), "key"}:                enum("route", "ip", "consumer"),
	{reflect.TypeFor[TLS](), "client_auth"}:                     enum("request", "require"),
	{reflect.TypeFor[TLS](), "min_version"}:                     enum("1.2", "1.3"),
	{reflect.TypeFor[cache.Policy](), "authenticated"}:          enum(string(cache.PerConsumer), string(cache.NoCache)),
	{reflect.TypeFor[transform.CompressOptions](), "encodings"}: enum(transform.Gzip, transform.Zstd),
	{reflect.TypeFor[accesslog.Options](), "format"}:            enum(formats()...),
	{reflect.TypeFor[accesslog.Options](), "fields"}:            enum(accesslog.AllFields...),
	{reflect.TypeFor[Tracing](), "incoming_context"}:            enum(tracing.IncomingContinue, tracing.IncomingRestart, tracing.IncomingTrustedProxies),
	{reflect.TypeFor[accesslog.Options](), "sample_ratio"}:      {"minimum": 0, "maximum": 1},
	{reflect.TypeFor[accesslog.Options](), "exclude_paths"}:     {"pattern": `^/[^*]*\*?$`},
	// route, ip, consumer, api_key, or header:NAME (an HTTP token).
	{reflect.TypeFor[spec.RateLimitPolicy](), "key"}: {"pattern": "^(route|ip|consumer|api_key|header:[!#$%&'*+.^_`|~0-9A-Za-z-]+)$"},
}

func enum(vals ...string) yamlschema.Schema { return yamlschema.Schema{"enum": vals} }

func formats() []string {
	var out []string
	for _, f := range accesslog.Formats {
		out = append(out, string(f))
	}
	return out
}

// Schema returns the JSON Schema (draft 2020-12) of the configuration
// file, generated from File and the types it holds: every key the parser
// knows, by the same yaml tags, with descriptions from the fields' doc
// comments in the source at moduleDir (the repository root; "" for none).
// docs/gatescale.schema.json is its output (go generate ./gateway/config).
func Schema(moduleDir string) ([]byte, error) {
	g := &yamlschema.Generator{}
	g.Custom = func(t reflect.Type) yamlschema.Schema {
		switch t {
		case durationType, reflect.TypeFor[time.Duration]():
			return yamlschema.Schema{
				"description": `A Go duration: "250ms", "10s", "1m30s"; a bare number only if 0.`,
				"oneOf": []any{
					yamlschema.Schema{"type": "string", "pattern": DurationPattern},
					yamlschema.Schema{"type": "number", "const": 0},
				},
			}
		case sizeType:
			return yamlschema.Schema{
				"description": `A number of bytes: an integer, or a string with a unit (B, KB, MB, GB, TB; KiB, MiB, GiB, TiB), e.g. "512KiB".`,
				"oneOf": []any{
					yamlschema.Schema{"type": "integer", "minimum": 0},
					yamlschema.Schema{"type": "string", "pattern": SizePattern},
				},
			}
		case instanceType:
			return yamlschema.Schema{
				"oneOf": []any{
					yamlschema.Schema{"type": "string", "description": `"host:port"`},
					g.Of(reflect.TypeFor[spec.InstanceFields]()),
				},
			}
		}
		return nil
	}
	g.Field = func(t reflect.Type, key string) yamlschema.Schema {
		return schemaKeys[schemaKey{t, key}]
	}
	if moduleDir != "" {
		comments := yamlschema.Comments(moduleDir, "github.com/gatescale/gatescale")
		g.Describe = func(t reflect.Type, key string) string {
			d := comments(t, key)
			if d == "" && t == reflect.TypeFor[File]() {
				// The file holds the model's keys as they are.
				d = comments(reflect.TypeFor[spec.Config](), key)
			}
			return d
		}
	}
	s := g.Generate(reflect.TypeFor[File](), SchemaID, "gatescale configuration file", func(root yamlschema.Schema) {
		root["description"] = "The YAML file of the gatescale binary (docs/configuration.md)."
		// Top-level x- keys hold anchors for the rest of the file.
		root["patternProperties"] = yamlschema.Schema{"^x-": yamlschema.Schema{}}
	})
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, err
	}
	// encoding/json escapes <, > and & for HTML; the file is read by editors.
	out := strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace(string(b))
	return []byte(out + "\n"), nil
}
