// Command lura runs the KrakenD CE engine (lura) as a peer for bench/compare:
// KrakenD itself is not served by the Go module proxy, its engine is. It
// reads one lura configuration file and serves it with the default gin
// router and proxy stack (the same path KrakenD CE builds on).
package main

import (
	"flag"
	"log"
	"os"

	"github.com/luraproject/lura/v2/config"
	"github.com/luraproject/lura/v2/logging"
	"github.com/luraproject/lura/v2/proxy"
	"github.com/luraproject/lura/v2/router/gin"
)

func main() {
	file := flag.String("c", "lura.json", "lura configuration file")
	level := flag.String("l", "ERROR", "log level")
	flag.Parse()
	cfg, err := config.NewParser().Parse(*file)
	if err != nil {
		log.Fatal(err)
	}
	logger, err := logging.NewLogger(*level, os.Stdout, "[LURA]")
	if err != nil {
		log.Fatal(err)
	}
	gin.DefaultFactory(proxy.DefaultFactory(logger), logger).New().Run(cfg)
}
