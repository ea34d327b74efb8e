package cluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Options tune the control plane.
type Options struct {
	// Dir holds certificates, kubeconfigs, data and logs (required).
	Dir string
	// BinDir holds kube-apiserver, kube-controller-manager and kubectl.
	BinDir string
	// HPASyncPeriod is the HPA controller's sync period (default 2s).
	HPASyncPeriod time.Duration
	// HPAInitialReadinessDelay and HPACPUInitializationPeriod: how long a
	// new pod's readiness and CPU samples are discounted (defaults 1s, 10s,
	// short for tests).
	HPAInitialReadinessDelay   time.Duration
	HPACPUInitializationPeriod time.Duration
	// Log receives the processes' output (default: files in Dir).
	Log io.Writer
}

// Cluster is a running control plane.
type Cluster struct {
	Dir    string
	Server string // https://127.0.0.1:port
	// Kubeconfigs by identity: "admin", "controller-manager", "adapter".
	Kubeconfigs map[string]string
	Tokens      map[string]string
	// Client is an admin client.
	Client     kubernetes.Interface
	RESTConfig *rest.Config
	// FrontProxyCA signs the aggregator's client certificate; an aggregated
	// server trusts it for requests proxied by the apiserver.
	FrontProxyCA []byte
	BinDir       string

	procs []*process
}

type process struct {
	name string
	cmd  *exec.Cmd
	log  *os.File
	done chan struct{}
}

// FreePort returns a free loopback port.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// Start brings up etcd, kube-apiserver and kube-controller-manager and
// waits until the API is ready. On error everything started is stopped.
func Start(ctx context.Context, o Options) (c *Cluster, err error) {
	if o.Dir == "" || o.BinDir == "" {
		return nil, errors.New("cluster: Dir and BinDir are required")
	}
	for _, b := range []string{"kube-apiserver", "kube-controller-manager"} {
		if _, err := os.Stat(filepath.Join(o.BinDir, b)); err != nil {
			return nil, fmt.Errorf("cluster: %s not built (hack/build-kube.sh): %w", b, err)
		}
	}
	etcdBin, err := exec.LookPath("etcd")
	if err != nil {
		return nil, fmt.Errorf("cluster: etcd not installed (hack/install-debs.sh etcd-server): %w", err)
	}
	if o.HPASyncPeriod == 0 {
		o.HPASyncPeriod = 2 * time.Second
	}
	if o.HPAInitialReadinessDelay == 0 {
		o.HPAInitialReadinessDelay = time.Second
	}
	if o.HPACPUInitializationPeriod == 0 {
		o.HPACPUInitializationPeriod = 10 * time.Second
	}
	c = &Cluster{Dir: o.Dir, BinDir: o.BinDir, Kubeconfigs: map[string]string{}, Tokens: map[string]string{}}
	defer func() {
		if err != nil {
			c.Stop()
			c = nil
		}
	}()
	pki := filepath.Join(o.Dir, "pki")
	if err := os.MkdirAll(pki, 0o700); err != nil {
		return nil, err
	}
	if err := writeServiceAccountKeys(pki); err != nil {
		return nil, err
	}
	clientCA, err := newCA("client-ca")
	if err != nil {
		return nil, err
	}
	frontCA, err := newCA("front-proxy-ca")
	if err != nil {
		return nil, err
	}
	c.FrontProxyCA = frontCA.pem
	if err := os.WriteFile(filepath.Join(pki, "client-ca.crt"), clientCA.pem, 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(pki, "front-proxy-ca.crt"), frontCA.pem, 0o600); err != nil {
		return nil, err
	}
	if err := frontCA.issue(pki, "front-proxy-client", "front-proxy-client", x509.ExtKeyUsageClientAuth, nil, nil); err != nil {
		return nil, err
	}

	// Static tokens: admin, the controller-manager, the adapter.
	var tokens strings.Builder
	for _, id := range []struct{ name, user, group string }{
		{"admin", "admin", "system:masters"},
		{"controller-manager", "system:kube-controller-manager", ""},
		{"adapter", "gatescale-adapter", ""},
	} {
		tok := randomToken()
		c.Tokens[id.name] = tok
		line := fmt.Sprintf("%s,%s,%s-uid", tok, id.user, id.name)
		if id.group != "" {
			line += "," + id.group
		}
		tokens.WriteString(line + "\n")
	}
	if err := os.WriteFile(filepath.Join(pki, "tokens.csv"), []byte(tokens.String()), 0o600); err != nil {
		return nil, err
	}

	ports := make([]int, 5)
	for i := range ports {
		if ports[i], err = FreePort(); err != nil {
			return nil, err
		}
	}
	etcdClient, etcdPeer, etcdMetrics, apiPort, kcmPort := ports[0], ports[1], ports[2], ports[3], ports[4]
	etcdURL := "http://127.0.0.1:" + strconv.Itoa(etcdClient)
	peerURL := "http://127.0.0.1:" + strconv.Itoa(etcdPeer)
	if err := c.start(o, "etcd", etcdBin,
		"--name", "e2e", "--data-dir", filepath.Join(o.Dir, "etcd"),
		"--listen-client-urls", etcdURL, "--advertise-client-urls", etcdURL,
		"--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
		"--initial-cluster", "e2e="+peerURL, "--listen-metrics-urls", "http://127.0.0.1:"+strconv.Itoa(etcdMetrics)); err != nil {
		return nil, err
	}
	if err := waitHTTP(ctx, nil, etcdURL+"/health", "", 30*time.Second); err != nil {
		return nil, fmt.Errorf("etcd: %w", err)
	}

	c.Server = "https://127.0.0.1:" + strconv.Itoa(apiPort)
	if err := c.start(o, "kube-apiserver", filepath.Join(o.BinDir, "kube-apiserver"),
		"--etcd-servers="+etcdURL, "--bind-address=127.0.0.1", "--secure-port="+strconv.Itoa(apiPort),
		"--advertise-address=127.0.0.1", "--endpoint-reconciler-type=none", "--cert-dir="+filepath.Join(o.Dir, "apiserver-certs"),
		"--service-cluster-ip-range=10.96.0.0/16", "--service-account-issuer=https://kubernetes.default.svc",
		"--service-account-key-file="+filepath.Join(pki, "sa.pub"), "--service-account-signing-key-file="+filepath.Join(pki, "sa.key"),
		"--token-auth-file="+filepath.Join(pki, "tokens.csv"), "--client-ca-file="+filepath.Join(pki, "client-ca.crt"),
		"--authorization-mode=RBAC", "--requestheader-client-ca-file="+filepath.Join(pki, "front-proxy-ca.crt"),
		"--requestheader-allowed-names=front-proxy-client", "--requestheader-username-headers=X-Remote-User",
		"--requestheader-group-headers=X-Remote-Group", "--requestheader-extra-headers-prefix=X-Remote-Extra-",
		"--proxy-client-cert-file="+filepath.Join(pki, "front-proxy-client.crt"),
		"--proxy-client-key-file="+filepath.Join(pki, "front-proxy-client.key"),
		"--enable-aggregator-routing=false"); err != nil {
		return nil, err
	}
	if err := waitHTTP(ctx, insecure(), c.Server+"/readyz", c.Tokens["admin"], 90*time.Second); err != nil {
		return nil, fmt.Errorf("kube-apiserver: %w", err)
	}
	for name := range c.Tokens {
		path := filepath.Join(o.Dir, name+".kubeconfig")
		if err := writeKubeconfig(path, c.Server, c.Tokens[name]); err != nil {
			return nil, err
		}
		c.Kubeconfigs[name] = path
	}
	if c.RESTConfig, err = clientcmd.BuildConfigFromFlags("", c.Kubeconfigs["admin"]); err != nil {
		return nil, err
	}
	if c.Client, err = kubernetes.NewForConfig(c.RESTConfig); err != nil {
		return nil, err
	}

	kcm := c.Kubeconfigs["controller-manager"]
	if err := c.start(o, "kube-controller-manager", filepath.Join(o.BinDir, "kube-controller-manager"),
		"--kubeconfig="+kcm, "--authentication-kubeconfig="+kcm, "--authorization-kubeconfig="+kcm,
		"--bind-address=127.0.0.1", "--secure-port="+strconv.Itoa(kcmPort), "--leader-elect=false",
		"--use-service-account-credentials=true",
		"--service-account-private-key-file="+filepath.Join(pki, "sa.key"),
		"--root-ca-file="+filepath.Join(o.Dir, "apiserver-certs", "apiserver.crt"),
		"--controllers=serviceaccount-controller,serviceaccount-token-controller,deployment-controller,replicaset-controller,horizontal-pod-autoscaler-controller,garbage-collector-controller,namespace-controller,clusterrole-aggregation-controller",
		"--horizontal-pod-autoscaler-sync-period="+o.HPASyncPeriod.String(),
		"--horizontal-pod-autoscaler-initial-readiness-delay="+o.HPAInitialReadinessDelay.String(),
		"--horizontal-pod-autoscaler-cpu-initialization-period="+o.HPACPUInitializationPeriod.String()); err != nil {
		return nil, err
	}
	if err := waitHTTP(ctx, insecure(), "https://127.0.0.1:"+strconv.Itoa(kcmPort)+"/healthz", "", 60*time.Second); err != nil {
		return nil, fmt.Errorf("kube-controller-manager: %w", err)
	}
	return c, nil
}

func insecure() *http.Client {
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
}

// start runs a process in its own process group, logging to Dir/name.log.
func (c *Cluster) start(o Options, name, bin string, args ...string) error {
	log, err := os.Create(filepath.Join(o.Dir, name+".log"))
	if err != nil {
		return err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = log, log
	if o.Log != nil {
		w := io.MultiWriter(log, o.Log)
		cmd.Stdout, cmd.Stderr = w, w
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		log.Close()
		return fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, log: log, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	c.procs = append(c.procs, p)
	return nil
}

// Stop stops the processes in reverse order of start.
func (c *Cluster) Stop() {
	for i := len(c.procs) - 1; i >= 0; i-- {
		StopProcessGroup(c.procs[i].cmd, c.procs[i].done, 15*time.Second)
		c.procs[i].log.Close()
	}
	c.procs = nil
}

// StopProcessGroup sends SIGTERM to the process group and SIGKILL after
// grace; done is closed when the process has exited.
func StopProcessGroup(cmd *exec.Cmd, done <-chan struct{}, grace time.Duration) {
	if cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(grace):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
}

// Logs returns the tail of a process's log, for failure messages.
func (c *Cluster) Logs(name string, lines int) string {
	b, _ := os.ReadFile(filepath.Join(c.Dir, name+".log"))
	all := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}

func waitHTTP(ctx context.Context, client *http.Client, url, token string, timeout time.Duration) error {
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Second}
	}
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
			last = fmt.Sprintf("%d %s", resp.StatusCode, strings.TrimSpace(string(b)))
		} else {
			last = err.Error()
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s not ready after %v: %s", url, timeout, last)
}

func writeKubeconfig(path, server, token string) error {
	return os.WriteFile(path, []byte(fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: e2e
  cluster:
    server: %s
    insecure-skip-tls-verify: true
users:
- name: e2e
  user:
    token: %s
contexts:
- name: e2e
  context: {cluster: e2e, user: e2e}
current-context: e2e
`, server, token)), 0o600)
}
