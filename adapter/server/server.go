package server

import (
	"context"
	"fmt"
	"net"
	"net/http"

	"github.com/spf13/pflag"
	openapinamer "k8s.io/apiserver/pkg/endpoints/openapi"
	genericapiserver "k8s.io/apiserver/pkg/server"
	openapicommon "k8s.io/kube-openapi/pkg/common"
	"sigs.k8s.io/custom-metrics-apiserver/pkg/apiserver"
	cmoptions "sigs.k8s.io/custom-metrics-apiserver/pkg/cmd/options"
	generatedcore "sigs.k8s.io/custom-metrics-apiserver/pkg/generated/openapi/core"
	generatedcustom "sigs.k8s.io/custom-metrics-apiserver/pkg/generated/openapi/custommetrics"
	generatedexternal "sigs.k8s.io/custom-metrics-apiserver/pkg/generated/openapi/externalmetrics"
	cmprovider "sigs.k8s.io/custom-metrics-apiserver/pkg/provider"
)

// Options are the server's settings: custom-metrics-apiserver's standard
// serving, delegated authentication and authorization, audit and feature
// options, and which APIs to serve.
type Options struct {
	*cmoptions.CustomMetricsAdapterServerOptions
	// Name is the server's name in OpenAPI and logs.
	Name string
	// Custom, External and Resource switch the three APIs. Each can be
	// off because another server may already claim its group: KEDA
	// serves external.metrics.k8s.io, metrics-server metrics.k8s.io, and
	// a cluster can register only one server per group.
	Custom, External, Resource bool
	// AllowAnonymous authorizes unauthenticated requests. It exists for
	// tests and local runs without a kube-apiserver; never set it on a
	// server the cluster can reach.
	AllowAnonymous bool
}

// NewOptions returns the defaults: custom and external metrics on,
// resource metrics off, a self-signed certificate kept in memory (no
// files written), secure port 6443.
func NewOptions() *Options {
	o := &Options{CustomMetricsAdapterServerOptions: cmoptions.NewCustomMetricsAdapterServerOptions(), Name: "gatescale-adapter", Custom: true, External: true}
	o.SecureServing.BindPort = 6443
	o.SecureServing.ServerCert.CertDirectory = ""
	o.SecureServing.ServerCert.PairName = "gatescale-adapter"
	return o
}

// AddFlags adds the standard flags (--secure-port, --cert-dir,
// --tls-cert-file, --authentication-kubeconfig, ...) and the API switches.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	o.CustomMetricsAdapterServerOptions.AddFlags(fs)
	fs.BoolVar(&o.Custom, "enable-custom-metrics", o.Custom, "Serve custom.metrics.k8s.io (v1beta1 and v1beta2).")
	fs.BoolVar(&o.External, "enable-external-metrics", o.External, "Serve external.metrics.k8s.io; turn off where KEDA (or another adapter) serves it.")
	fs.BoolVar(&o.Resource, "enable-resource-metrics", o.Resource, "Serve metrics.k8s.io (CPU and memory from the resourceRules); leave off where metrics-server runs.")
}

// Server is the aggregated API server.
type Server struct {
	generic *genericapiserver.GenericAPIServer
	// Addr is where it listens.
	Addr net.Addr
}

// Providers are what the server serves; a nil provider turns its API off
// regardless of the options.
type Providers struct {
	Custom   cmprovider.CustomMetricsProvider
	External cmprovider.ExternalMetricsProvider
	Resource ResourceProvider
}

// New builds the server. It does what custom-metrics-apiserver's
// AdapterBase does, minus the requirement of a kube-apiserver: the
// shared informers and the client AdapterBase creates unconditionally are
// only made when delegated authentication needs them, so the same code
// runs in a cluster and in a test with no cluster at all.
func New(o *Options, p Providers) (*Server, error) {
	if !o.Custom {
		p.Custom = nil
	}
	if !o.External {
		p.External = nil
	}
	if !o.Resource {
		p.Resource = nil
	}
	if p.Custom == nil && p.External == nil && p.Resource == nil {
		return nil, fmt.Errorf("no API to serve: enable at least one of custom, external and resource metrics")
	}
	if o.AllowAnonymous {
		o.Authentication.RemoteKubeConfigFileOptional = true
		o.Authentication.SkipInClusterLookup = true
		o.Authorization.RemoteKubeConfigFileOptional = true
		o.Authorization.AlwaysAllowGroups = append(o.Authorization.AlwaysAllowGroups, "system:unauthenticated", "system:authenticated")
	}
	if errs := o.Validate(); len(errs) > 0 {
		return nil, fmt.Errorf("invalid options: %v", errs)
	}
	defs := []openapicommon.GetOpenAPIDefinitions{generatedcore.GetOpenAPIDefinitions}
	if p.Custom != nil {
		defs = append(defs, generatedcustom.GetOpenAPIDefinitions)
	}
	if p.External != nil {
		defs = append(defs, generatedexternal.GetOpenAPIDefinitions)
	}
	if p.Resource != nil {
		defs = append(defs, resourceOpenAPIDefinitions)
		installResourceScheme()
	}
	merged := func(ref openapicommon.ReferenceCallback) map[string]openapicommon.OpenAPIDefinition {
		out := map[string]openapicommon.OpenAPIDefinition{}
		for _, d := range defs {
			for k, v := range d(ref) {
				out[k] = v
			}
		}
		return out
	}
	namer := openapinamer.NewDefinitionNamer(apiserver.Scheme)
	o.OpenAPIConfig = genericapiserver.DefaultOpenAPIConfig(merged, namer)
	o.OpenAPIConfig.Info.Title, o.OpenAPIConfig.Info.Version = o.Name, "1.0.0"
	o.OpenAPIV3Config = genericapiserver.DefaultOpenAPIV3Config(merged, namer)
	o.OpenAPIV3Config.Info.Title, o.OpenAPIV3Config.Info.Version = o.Name, "1.0.0"

	rc := genericapiserver.NewRecommendedConfig(apiserver.Codecs)
	// Inside authentication and authorization, like the API handlers.
	rc.BuildHandlerChainFunc = func(h http.Handler, c *genericapiserver.Config) http.Handler {
		return genericapiserver.DefaultBuildHandlerChain(checkMetricSelector(h), c)
	}
	if err := o.SecureServing.MaybeDefaultWithSelfSignedCerts("localhost", nil, []net.IP{net.ParseIP("127.0.0.1")}); err != nil {
		return nil, fmt.Errorf("creating a self-signed certificate: %w", err)
	}
	if err := o.SecureServing.ApplyTo(&rc.SecureServing, &rc.LoopbackClientConfig); err != nil {
		return nil, err
	}
	if err := o.Authentication.ApplyTo(&rc.Authentication, rc.SecureServing, rc.OpenAPIConfig); err != nil {
		return nil, err
	}
	if err := o.Authorization.ApplyTo(&rc.Authorization); err != nil {
		return nil, err
	}
	if err := o.Audit.ApplyTo(&rc.Config); err != nil {
		return nil, err
	}
	// Priority and fairness is off (custom-metrics-apiserver's default:
	// the aggregator in front already applies it), so it needs no client.
	if err := o.Features.ApplyTo(&rc.Config, nil, nil); err != nil {
		return nil, err
	}
	rc.OpenAPIConfig, rc.OpenAPIV3Config = o.OpenAPIConfig, o.OpenAPIV3Config
	rc.EnableMetrics = o.EnableMetrics
	cfg := &apiserver.Config{GenericConfig: &rc.Config}
	served := withNonNilLists(p)
	s, err := cfg.Complete(nil).New(o.Name, served.Custom, served.External)
	if err != nil {
		return nil, err
	}
	if p.Resource != nil {
		if err := installResourceAPI(s.GenericAPIServer, p.Resource); err != nil {
			return nil, err
		}
	}
	syncAggregatedDiscovery(s.GenericAPIServer, p)
	return &Server{generic: s.GenericAPIServer, Addr: o.SecureServing.Listener.Addr()}, nil
}

// Run serves until ctx ends, then shuts down gracefully.
func (s *Server) Run(ctx context.Context) error {
	return s.generic.PrepareRun().RunWithContext(ctx)
}
