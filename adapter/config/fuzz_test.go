package config_test

import (
	"os"
	"strings"
	"testing"

	"github.com/gatescale/gatescale/adapter/config"
)

// FuzzParse: whatever the rules file holds, Parse never panics, and a
// refusal says where: every line of the error starts with the file's name
// and a position (file:line:col), as the README promises for bad input.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"testdata/helm-default.yaml", "testdata/walkthrough.yaml"} {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("rules:\n- seriesQuery: 'up'\n  metricsQuery: '<<.Series>>{<<.LabelMatchers>>'\n"))
	f.Add([]byte("rules:\n- seriesQuery: 'x'\n  name: {matches: '(', as: '$1'}\n"))
	f.Add([]byte("externalRules: [{seriesQuery: a, resources: {template: '<<.Resource'}}]\n"))
	f.Add([]byte("resourceRules: {cpu: {containerQuery: 'q'}, window: -1s}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := config.Parse("rules.yaml", data)
		if err == nil {
			if cfg == nil {
				t.Fatal("no configuration and no error")
			}
			return
		}
		if cfg != nil {
			t.Fatalf("a configuration with the error %v", err)
		}
		for _, line := range strings.Split(err.Error(), "\n") {
			if !strings.HasPrefix(line, "rules.yaml:") {
				t.Fatalf("an error line without the file and position: %q (of %q)", line, err)
			}
		}
	})
}
