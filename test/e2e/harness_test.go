package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	k8syaml "k8s.io/apimachinery/pkg/util/yaml"
	apiregv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	aggregator "k8s.io/kube-aggregator/pkg/client/clientset_generated/clientset"
	"sigs.k8s.io/yaml"

	"github.com/gatescale/gatescale/test/e2e/cluster"
)

// gatewayProcess is a real gatescale process standing in for a pod.
type gatewayProcess struct {
	cmd         *exec.Cmd
	done        chan struct{}
	listen      string
	admin       string
	readyClient *http.Client
}

func (g *gatewayProcess) Ready() bool {
	resp, err := g.readyClient.Get("http://" + g.admin + "/readyz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == 200
}

// Stop is what a kubelet does on pod deletion: SIGTERM, then wait for the
// gateway's drain and shutdown (SIGKILL only after the grace period).
func (g *gatewayProcess) Stop() { cluster.StopProcessGroup(g.cmd, g.done, 45*time.Second) }

// startGateway runs bin for pod with a config that proxies to backend. The
// gateway registers itself in Consul (at consulAddr) as service
// "gatescale-e2e" with a check on its readiness, so clients find it there.
func startGateway(dir, bin, backend, consulAddr string, pod *corev1.Pod) (*gatewayProcess, error) {
	p1, err := cluster.FreePort()
	if err != nil {
		return nil, err
	}
	p2, err := cluster.FreePort()
	if err != nil {
		return nil, err
	}
	g := &gatewayProcess{listen: "127.0.0.1:" + strconv.Itoa(p1), admin: "127.0.0.1:" + strconv.Itoa(p2),
		done: make(chan struct{}), readyClient: &http.Client{Timeout: time.Second}}
	cfg := fmt.Sprintf(`listen: %s
admin_listen: %s
drain_period: 3s # > Consul's 1 s check interval: clients leave before the listener closes
shutdown_timeout: 20s
upstreams:
  backend:
    instances: [%s]
    retry: {attempts: 2}
routes:
  - {name: api, path_prefix: /, upstream: backend, timeout: 10s}
`, g.listen, g.admin, backend)
	path := filepath.Join(dir, pod.Name+".yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	log, err := os.Create(filepath.Join(dir, pod.Name+".log"))
	if err != nil {
		return nil, err
	}
	g.cmd = exec.Command(bin, "-config", path, "-watch", "0", "-log-format", "text", "-consul-register", "gatescale-e2e")
	g.cmd.Env = append(os.Environ(), "CONSUL_HTTP_ADDR="+consulAddr)
	g.cmd.Stdout, g.cmd.Stderr = io.Discard, log
	g.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := g.cmd.Start(); err != nil {
		log.Close()
		return nil, err
	}
	go func() { _ = g.cmd.Wait(); log.Close(); close(g.done) }()
	return g, nil
}

// targets is the set of gateway replicas the load generator and Prometheus
// see, replaced as a whole when the kubelet's pods change.
type targets struct {
	v atomic.Pointer[[]string]
	n atomic.Uint64
}

func (t *targets) set(addrs []string) { t.v.Store(&addrs) }

func (t *targets) next() string {
	p := t.v.Load()
	if p == nil || len(*p) == 0 {
		return ""
	}
	return (*p)[t.n.Add(1)%uint64(len(*p))]
}

func (t *targets) count() int {
	if p := t.v.Load(); p != nil {
		return len(*p)
	}
	return 0
}

// kubectl runs the built kubectl against the cluster as admin.
func kubectl(t testing.TB, c *cluster.Cluster, args ...string) string {
	t.Helper()
	cmd := exec.Command(filepath.Join(c.BinDir, "kubectl"), append([]string{"--kubeconfig", c.Kubeconfigs["admin"]}, args...)...)
	cmd.Dir = repoRoot(t)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// startAdapter runs gatescale-adapter as the "adapter" identity and makes
// the aggregator reach it: the real APIService manifests, pointed at an
// ExternalName Service for localhost on the adapter's port.
func startAdapter(t *testing.T, c *cluster.Cluster, bin, promURL, config string) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	port, err := cluster.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "adapter.yaml")
	if err := os.WriteFile(cfgPath, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	// RBAC from the manifests, plus the same roles for the adapter's user
	// (here a static token, in a cluster its ServiceAccount).
	kubectl(t, c, "apply", "-f", "manifests/adapter/namespace.yaml")
	kubectl(t, c, "apply", "-f", "manifests/adapter/rbac.yaml")
	kubectl(t, c, "create", "clusterrolebinding", "e2e-adapter-delegator", "--clusterrole=system:auth-delegator", "--user=gatescale-adapter")
	kubectl(t, c, "create", "clusterrolebinding", "e2e-adapter-reader", "--clusterrole=gatescale-adapter-resource-reader", "--user=gatescale-adapter")
	kubectl(t, c, "create", "rolebinding", "-n", "kube-system", "e2e-adapter-auth-reader", "--role=extension-apiserver-authentication-reader", "--user=gatescale-adapter")

	kc := c.Kubeconfigs["adapter"]
	log, err := os.Create(filepath.Join(dir, "adapter.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--secure-port="+strconv.Itoa(port), "--bind-address=127.0.0.1", "--cert-dir="+filepath.Join(dir, "certs"),
		"--lister-kubeconfig="+kc, "--authentication-kubeconfig="+kc, "--authorization-kubeconfig="+kc,
		"--prometheus-url="+promURL, "--config="+cfgPath, "--metrics-relist-interval=5s", "--enable-resource-metrics=true")
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() { cluster.StopProcessGroup(cmd, done, 10*time.Second); log.Close() })
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "adapter.log"))
			t.Logf("adapter log (tail):\n%s", tail(string(b), 40))
		}
	})

	_, err = c.Client.CoreV1().Services("gatescale").Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "gatescale-adapter"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "localhost",
			Ports: []corev1.ServicePort{{Name: "https", Port: int32(port), TargetPort: intstr.FromInt(port)}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	agg, err := aggregator.NewForConfig(c.RESTConfig)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), "manifests", "adapter", "apiservice.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	services := decodeAPIServices(t, raw)
	// metrics.k8s.io for the CPU path: no metrics-server here.
	resource := services[0].DeepCopy()
	resource.Name, resource.Spec.Group, resource.Spec.Version = "v1beta1.metrics.k8s.io", "metrics.k8s.io", "v1beta1"
	services = append(services, *resource)
	for _, s := range services {
		s.Spec.Service.Port = ptr(int32(port))
		if _, err := agg.ApiregistrationV1().APIServices().Create(ctx, &s, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 90*time.Second, "APIServices available", func() bool {
		for _, s := range services {
			got, err := agg.ApiregistrationV1().APIServices().Get(ctx, s.Name, metav1.GetOptions{})
			if err != nil {
				return false
			}
			ok := false
			for _, cond := range got.Status.Conditions {
				if cond.Type == apiregv1.Available && cond.Status == apiregv1.ConditionTrue {
					ok = true
				}
			}
			if !ok {
				return false
			}
		}
		return true
	})
}

func decodeAPIServices(t *testing.T, raw []byte) []apiregv1.APIService {
	var out []apiregv1.APIService
	r := k8syaml.NewYAMLReader(bufioReader(raw))
	for {
		doc, err := r.Read()
		if err != nil {
			break
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		var s apiregv1.APIService
		if err := yaml.UnmarshalStrict(doc, &s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if len(out) != 3 {
		t.Fatalf("manifests/adapter/apiservice.yaml has %d APIServices, want 3", len(out))
	}
	return out
}

func ptr[T any](v T) *T { return &v }

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
