// Package testenv runs a real kube-apiserver and etcd for tests, with lbkit's
// CRDs installed, through controller-runtime's envtest.
//
// The binaries come from KUBEBUILDER_ASSETS; build-assets.sh (next to this
// file) builds them from the Go module proxy into
// /var/cache/lbkit/k8s-<version>, which Main uses when KUBEBUILDER_ASSETS
// is unset. Without them, Start skips the test, or fails it when the
// environment variable CI is "true", so that CI never passes by skipping.
//
// Use it from a test package:
//
//	func TestMain(m *testing.M) { testenv.Main(m) }
//
//	func TestSomething(t *testing.T) {
//		env := testenv.Start(t) // stopped by t.Cleanup
//		env.Client.Create(ctx, &corev1.Service{…})
//	}
//
// Every Start runs its own API server (a few seconds), so tests are isolated
// from each other. The API server serves dual-stack Service CIDRs
// (10.96.0.0/16 and fd00:10:96::/112), so RequireDualStack services work.
package testenv

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/lbkit/lbkit/examples/kubernetes/api/v1alpha1"
	"github.com/lbkit/lbkit/examples/kubernetes/config"
)

// Versions of the binaries build-assets.sh builds by default.
const (
	KubeVersion = "v1.37.2"
	EtcdVersion = "v3.6.16"
)

// DefaultAssets is where build-assets.sh puts the binaries by default.
const DefaultAssets = "/var/cache/lbkit/k8s-" + KubeVersion

// Service CIDRs of the API server.
const (
	ServiceCIDRv4 = "10.96.0.0/16"
	ServiceCIDRv6 = "fd00:10:96::/112"
)

// ErrNoAssets reports that kube-apiserver or etcd was not found.
var ErrNoAssets = errors.New("testenv: kube-apiserver and etcd not found: run testenv/build-assets.sh and set KUBEBUILDER_ASSETS")

// An Env is a running API server with lbkit's CRDs installed.
type Env struct {
	// Config reaches the API server as an administrator.
	Config *rest.Config
	// Client is a client of Config, with Scheme.
	Client client.Client
	// Scheme knows the built-in Kubernetes types and lbkit's.
	Scheme *runtime.Scheme
}

// Scheme returns a new scheme with the built-in Kubernetes types and
// lbkit's.
func Scheme() *runtime.Scheme { return v1alpha1.NewScheme() }

// Assets returns the folder holding kube-apiserver and etcd:
// KUBEBUILDER_ASSETS if set, else DefaultAssets if it holds both, else
// ErrNoAssets.
func Assets() (string, error) {
	dir := os.Getenv("KUBEBUILDER_ASSETS")
	if dir == "" {
		dir = DefaultAssets
	}
	for _, bin := range []string{"kube-apiserver", "etcd"} {
		if fi, err := os.Stat(filepath.Join(dir, bin)); err != nil || fi.IsDir() {
			return "", ErrNoAssets
		}
	}
	return dir, nil
}

// Main runs the tests of m, for use as TestMain. It points
// KUBEBUILDER_ASSETS at DefaultAssets when unset and present, and silences
// controller-runtime's logger.
func Main(m *testing.M) {
	ctrllog.SetLogger(logr.Discard())
	if dir, err := Assets(); err == nil {
		os.Setenv("KUBEBUILDER_ASSETS", dir)
	}
	os.Exit(m.Run())
}

// inCI reports whether the tests run in CI, where missing assets fail.
func inCI() bool { return os.Getenv("CI") == "true" }

// An Option changes how Start runs the API server.
type Option func(*envtest.Environment) error

// ListenOn makes the API server listen on addr, on a free port, instead of
// 127.0.0.1; envtest puts addr in the serving certificate. Processes in
// network namespaces reach the API server through an address on a bridge
// they share with the test.
func ListenOn(addr netip.Addr) Option {
	return func(te *envtest.Environment) error {
		l, err := net.Listen("tcp", netip.AddrPortFrom(addr, 0).String())
		if err != nil {
			return err
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		api := te.ControlPlane.GetAPIServer()
		api.SecureServing.Address = addr.String()
		api.SecureServing.Port = strconv.Itoa(port)
		return nil
	}
}

// Start starts an API server and etcd for t, installs lbkit's CRDs and
// stops both when t ends. It skips t without assets (fails it in CI).
func Start(t testing.TB, opts ...Option) *Env {
	t.Helper()
	dir, err := Assets()
	if err != nil {
		if inCI() {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	crds, err := config.CRDs()
	if err != nil {
		t.Fatal(err)
	}
	scheme := Scheme()
	te := &envtest.Environment{
		BinaryAssetsDirectory:    dir,
		CRDs:                     crds,
		Scheme:                   scheme,
		ErrorIfCRDPathMissing:    true,
		ControlPlaneStartTimeout: 2 * time.Minute,
		ControlPlaneStopTimeout:  time.Minute,
	}
	te.ControlPlane.GetAPIServer().Configure().
		Set("service-cluster-ip-range", ServiceCIDRv4+","+ServiceCIDRv6)
	for _, o := range opts {
		if err := o(te); err != nil {
			t.Fatalf("testenv: %v", err)
		}
	}
	cfg, err := te.Start()
	if err != nil {
		t.Fatalf("testenv: start: %v", err)
	}
	t.Cleanup(func() {
		if err := te.Stop(); err != nil {
			t.Errorf("testenv: stop: %v", err)
		}
	})
	cfg.QPS, cfg.Burst = -1, 0 // no client-side rate limit
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	return &Env{Config: cfg, Client: c, Scheme: scheme}
}

// Namespace creates a namespace with a unique name starting with prefix
// and the given labels, and returns its name.
func (e *Env) Namespace(t testing.TB, prefix string, labels map[string]string) string {
	t.Helper()
	ns := &corev1.Namespace{}
	ns.GenerateName = prefix + "-"
	ns.Labels = labels
	if err := e.Client.Create(t.Context(), ns); err != nil {
		t.Fatalf("testenv: create namespace: %v", err)
	}
	return ns.Name
}

// Eventually calls cond every interval until it returns nil and reports how
// long that took. When timeout passes first, it fails t with what and cond's
// last error. Give it a generous timeout: it checks that a condition becomes
// true, it does not measure how fast.
func Eventually(t testing.TB, timeout, interval time.Duration, what string, cond func() error) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		err := cond()
		if err == nil {
			return time.Since(start)
		}
		if time.Since(start) > timeout {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(interval)
	}
}
