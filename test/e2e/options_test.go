package e2e

import (
	"time"

	"github.com/gatescale/gatescale/test/e2e/cluster"
)

func clusterOptions() cluster.Options {
	return cluster.Options{HPASyncPeriod: 2 * time.Second}
}
