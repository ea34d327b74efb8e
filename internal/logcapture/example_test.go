package logcapture_test

import (
	"fmt"
	"log/slog"
	"sync"

	"github.com/gatescale/gatescale/internal/logcapture"
)

// A logger written by several goroutines, read by the test once they are
// done (or while they run: String and Lines lock too).
func Example() {
	var logs logcapture.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{} // for a stable output
			}
			return a
		},
	}))
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			log.Info("served", "worker", i)
		}()
	}
	wg.Wait()
	fmt.Println(len(logs.Lines()), "lines")
	// Output: 3 lines
}
