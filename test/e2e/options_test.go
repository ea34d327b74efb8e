package e2e

import (
	"bufio"
	"bytes"
	"sigs.k8s.io/yaml"
	"time"

	"github.com/gatescale/gatescale/test/e2e/cluster"
)

func clusterOptions() cluster.Options {
	return cluster.Options{HPASyncPeriod: 2 * time.Second}
}

func bufioReader(b []byte) *bufio.Reader { return bufio.NewReader(bytes.NewReader(b)) }

func yamlUnmarshal(b []byte, v any) error { return yaml.UnmarshalStrict(b, v) }
