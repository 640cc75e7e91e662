// Package conformance runs the upstream Gateway API conformance suite (pinned in go.mod)
// against the cluster KUBECONFIG names, with Portico's defaults from options.yaml and the
// tests listed in skip.yaml left out. It runs the same against the local cluster
// (make conformance), kind, or any real cluster.
package conformance

import (
	"flag"
	"os"
	"testing"

	"sigs.k8s.io/gateway-api/conformance"
	"sigs.k8s.io/gateway-api/conformance/utils/flags"
	"sigs.k8s.io/yaml"
)

// skipped is one entry of skip.yaml.
type skipped struct {
	Test   string `json:"test"`
	Reason string `json:"reason"`
}

func TestConformance(t *testing.T) {
	// options.yaml is the default options file; -conformance-options-file names another.
	if *flags.ConformanceOptionsFile == "" {
		if err := flag.Set("conformance-options-file", "options.yaml"); err != nil {
			t.Fatalf("setting the options file: %v", err)
		}
	}
	options := conformance.DefaultOptions(t)

	data, err := os.ReadFile("skip.yaml")
	if err != nil {
		t.Fatalf("reading skip.yaml: %v", err)
	}
	var skips []skipped
	if err := yaml.UnmarshalStrict(data, &skips); err != nil {
		t.Fatalf("skip.yaml: %v", err)
	}
	for _, skip := range skips {
		if skip.Test == "" || skip.Reason == "" {
			t.Fatalf("skip.yaml: every entry needs a test and a reason: %+v", skip)
		}
		options.SkipTests = append(options.SkipTests, skip.Test)
	}
	conformance.RunConformanceWithOptions(t, options)
}
