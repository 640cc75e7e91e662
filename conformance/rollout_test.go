package conformance

// TestRollingRestart restarts a provisioned data plane of two replicas (as `kubectl rollout
// restart` does) while clients keep sending requests to its Gateway, each on a new
// connection, and requires that not one request fails. It runs after the suite in
// `make conformance`, on the same cluster, with its own GatewayClass, Gateway and backend in
// namespace portico-rollout.

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/config"
	"sigs.k8s.io/yaml"
)

const rolloutNamespace = "portico-rollout"

// rolloutObjects are applied in order: a class whose data planes have two replicas, a
// Gateway of that class, an echo backend and a route to it.
var rolloutObjects = []string{
	`apiVersion: v1
kind: Namespace
metadata: {name: portico-rollout}`,
	`apiVersion: gateway.portico.dev/v1alpha1
kind: PorticoProxy
metadata: {name: two-replicas, namespace: portico-rollout}
spec: {replicas: 2}`,
	`apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: portico-rollout}
spec:
  controllerName: portico.dev/gateway-controller
  parametersRef: {group: gateway.portico.dev, kind: PorticoProxy, name: two-replicas, namespace: portico-rollout}`,
	`apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: rollout, namespace: portico-rollout}
spec:
  gatewayClassName: portico-rollout
  listeners: [{name: http, port: 80, protocol: HTTP}]`,
	`apiVersion: apps/v1
kind: Deployment
metadata: {name: echo, namespace: portico-rollout}
spec:
  replicas: 2
  selector: {matchLabels: {app: echo}}
  template:
    metadata: {labels: {app: echo}}
    spec:
      containers:
      - name: echo
        image: registry.k8s.io/gateway-api/echo-basic
        env:
        - {name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
        - {name: NAMESPACE, valueFrom: {fieldRef: {fieldPath: metadata.namespace}}}
        readinessProbe: {httpGet: {path: /, port: 3000}}`,
	`apiVersion: v1
kind: Service
metadata: {name: echo, namespace: portico-rollout}
spec:
  selector: {app: echo}
  ports: [{port: 8080, targetPort: 3000}]`,
	`apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: echo, namespace: portico-rollout}
spec:
  parentRefs: [{name: rollout}]
  rules: [{backendRefs: [{name: echo, port: 8080}]}]`,
}

// load counts the outcomes of requests sent by a few clients until stopped.
type load struct {
	ok, failed atomic.Int64
	mu         sync.Mutex
	failures   []string
	stop       chan struct{}
	done       sync.WaitGroup
}

func startLoad(url string, clients int) *load {
	l := &load{stop: make(chan struct{})}
	for i := 0; i < clients; i++ {
		l.done.Add(1)
		go func() {
			defer l.done.Done()
			// A new connection per request, as clients behind many NATs look to a proxy.
			httpClient := &http.Client{
				Timeout:   5 * time.Second,
				Transport: &http.Transport{DisableKeepAlives: true},
			}
			for {
				select {
				case <-l.stop:
					return
				default:
				}
				err := get(httpClient, url)
				if err == nil {
					l.ok.Add(1)
					continue
				}
				l.failed.Add(1)
				l.mu.Lock()
				if len(l.failures) < 20 {
					l.failures = append(l.failures, fmt.Sprintf("%s: %v", time.Now().Format("15:04:05.000"), err))
				}
				l.mu.Unlock()
			}
		}()
	}
	return l
}

func get(httpClient *http.Client, url string) error {
	response, err := httpClient.Get(url)
	if err != nil {
		return err
	}
	defer response.Body.Close()
	if _, err := io.Copy(io.Discard, response.Body); err != nil {
		return err
	}
	if response.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", response.StatusCode)
	}
	return nil
}

func (l *load) finish() {
	close(l.stop)
	l.done.Wait()
}

func TestRollingRestart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	restConfig, err := config.GetConfig()
	if err != nil {
		t.Fatalf("kubeconfig: %v", err)
	}
	c, err := client.New(restConfig, client.Options{})
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	for _, text := range rolloutObjects {
		object := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(text), &object.Object); err != nil {
			t.Fatalf("object YAML: %v", err)
		}
		if err := c.Create(ctx, object); err != nil {
			t.Fatalf("creating %s %s: %v", object.GetKind(), object.GetName(), err)
		}
	}

	address := eventually(ctx, t, "the Gateway's address", func() (string, bool) {
		gateway := &unstructured.Unstructured{}
		gateway.SetAPIVersion("gateway.networking.k8s.io/v1")
		gateway.SetKind("Gateway")
		if c.Get(ctx, types.NamespacedName{Namespace: rolloutNamespace, Name: "rollout"}, gateway) != nil {
			return "", false
		}
		addresses, _, _ := unstructured.NestedSlice(gateway.Object, "status", "addresses")
		if len(addresses) == 0 {
			return "", false
		}
		value, _, _ := unstructured.NestedString(addresses[0].(map[string]interface{}), "value")
		return value, value != ""
	})
	url := fmt.Sprintf("http://%s/", address)
	probe := &http.Client{Timeout: 2 * time.Second}
	eventually(ctx, t, "the route to answer", func() (struct{}, bool) {
		return struct{}{}, get(probe, url) == nil
	})
	dataplane := types.NamespacedName{Namespace: rolloutNamespace, Name: "portico-rollout"}
	eventually(ctx, t, "two ready data-plane replicas", func() (struct{}, bool) {
		return struct{}{}, rolledOut(ctx, c, dataplane, 0)
	})

	traffic := startLoad(url, 4)
	time.Sleep(3 * time.Second)
	for round := 1; round <= 2; round++ {
		deployment := &appsv1.Deployment{}
		if err := c.Get(ctx, dataplane, deployment); err != nil {
			t.Fatalf("data-plane Deployment: %v", err)
		}
		generation := deployment.Generation
		patch := fmt.Sprintf(`{"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":"round-%d-%d"}}}}}`,
			round, time.Now().UnixNano())
		if err := c.Patch(ctx, deployment, client.RawPatch(types.StrategicMergePatchType, []byte(patch))); err != nil {
			t.Fatalf("restarting the data plane: %v", err)
		}
		eventually(ctx, t, fmt.Sprintf("restart %d to finish", round), func() (struct{}, bool) {
			return struct{}{}, rolledOut(ctx, c, dataplane, generation+1)
		})
	}
	time.Sleep(3 * time.Second)
	traffic.finish()

	ok, failed := traffic.ok.Load(), traffic.failed.Load()
	t.Logf("two rolling restarts under load: %d requests answered, %d failed", ok, failed)
	if ok == 0 {
		t.Fatalf("no request was answered")
	}
	if failed != 0 {
		t.Fatalf("%d of %d requests failed during rolling restarts; first failures:\n%v",
			failed, ok+failed, traffic.failures)
	}
}

// rolledOut reports whether the Deployment has reached at least generation `generation`, runs
// only updated pods, all ready, and no old pod is still terminating.
func rolledOut(ctx context.Context, c client.Client, name types.NamespacedName, generation int64) bool {
	deployment := &appsv1.Deployment{}
	if c.Get(ctx, name, deployment) != nil || deployment.Spec.Replicas == nil {
		return false
	}
	want := *deployment.Spec.Replicas
	status := deployment.Status
	if status.ObservedGeneration < generation || status.ObservedGeneration < deployment.Generation {
		return false
	}
	if status.UpdatedReplicas != want || status.ReadyReplicas != want || status.Replicas != want {
		return false
	}
	pods := &unstructured.UnstructuredList{}
	pods.SetAPIVersion("v1")
	pods.SetKind("PodList")
	if c.List(ctx, pods, client.InNamespace(name.Namespace), client.MatchingLabels(deployment.Spec.Selector.MatchLabels)) != nil {
		return false
	}
	return int32(len(pods.Items)) == want
}

// eventually polls `probe` until it succeeds, failing the test when ctx ends.
func eventually[T any](ctx context.Context, t *testing.T, what string, probe func() (T, bool)) T {
	t.Helper()
	for {
		if value, ok := probe(); ok {
			return value
		}
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
