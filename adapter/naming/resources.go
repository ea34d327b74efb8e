package naming

import (
	"bytes"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"text/template"
	"time"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/gatescale/gatescale/adapter/config"
)

// Well-known group-resources.
var (
	Namespaces = schema.GroupResource{Resource: "namespaces"}
	Nodes      = schema.GroupResource{Resource: "nodes"}
	Pods       = schema.GroupResource{Resource: "pods"}
)

// groupSanitizer makes an API group usable inside a label name, as
// prometheus-adapter does: apps.example.com → apps_example_com.
var groupSanitizer = strings.NewReplacer(".", "_", "-", "_")

// Resources maps label names to Kubernetes group-resources and back, from a
// rule's resources section: explicit overrides first, then the template.
// Group-resources are normalized by the REST mapper (pod → pods,
// deployment → deployments.apps), so a request for either spelling finds
// the same label. It is safe for concurrent use.
type Resources struct {
	mapper    apimeta.RESTMapper
	overrides map[string]schema.GroupResource // label → group-resource
	labelOf   map[schema.GroupResource]string // group-resource → label (overrides)
	template  *template.Template
	extract   *regexp.Regexp // label → group/resource, from the template
	groupIdx  int            // submatch index of the group, or -1
	resIdx    int

	mu      sync.RWMutex
	byLabel map[string]labelResource // template matches, cached
	byGR    map[schema.GroupResource]string
	now     func() time.Time
}

type labelResource struct {
	gr schema.GroupResource
	ok bool
	at time.Time // when a miss was cached
}

// missTTL is how long a label that names no resource is taken at its word.
// The cluster's REST mapper learns CRDs installed after start-up on its
// refresh; a miss kept for good would never serve their metrics. A minute
// (the default relist interval) still spares the mapper one question per
// label and series in each discovery run.
const missTTL = time.Minute

// NewResources compiles a resources section. path and src locate it for
// error messages (src may be nil).
func NewResources(m config.ResourceMapping, mapper apimeta.RESTMapper, src *config.Source, path string) (*Resources, error) {
	if src == nil {
		src = (&config.Config{}).Source()
	}
	r := &Resources{
		mapper:    mapper,
		overrides: map[string]schema.GroupResource{},
		labelOf:   map[schema.GroupResource]string{},
		groupIdx:  -1,
		byLabel:   map[string]labelResource{},
		byGR:      map[schema.GroupResource]string{},
		now:       time.Now,
	}
	labels := make([]string, 0, len(m.Overrides))
	for l := range m.Overrides {
		labels = append(labels, l)
	}
	sort.Strings(labels)
	for _, l := range labels {
		o := m.Overrides[l]
		gr, err := Normalize(mapper, schema.GroupResource{Group: o.Group, Resource: o.Resource})
		if err != nil {
			want := schema.GroupResource{Group: o.Group, Resource: o.Resource}
			if apimeta.IsNoMatchError(err) {
				return nil, src.Errorf(path+".overrides."+l, "label %q maps to %s, which the cluster does not serve", l, want)
			}
			return nil, src.Errorf(path+".overrides."+l, "label %q maps to %s: %v", l, want, err)
		}
		r.overrides[l] = gr
		r.labelOf[gr] = l
	}
	if m.Template != "" {
		t, err := config.NewResourceTemplate(m.Template)
		if err != nil {
			return nil, src.Errorf(path+".template", "invalid template: %v", err)
		}
		var buf bytes.Buffer
		if err := t.Execute(&buf, config.ResourceTemplateArgs{Group: "(?P<group>.+?)", Resource: "(?P<resource>.+?)"}); err != nil {
			return nil, src.Errorf(path+".template", "invalid template: %v", err)
		}
		re, err := regexp.Compile("^" + buf.String() + "$")
		if err != nil {
			return nil, src.Errorf(path+".template", "template %q cannot be matched against labels: %v", m.Template, err)
		}
		r.template, r.extract, r.resIdx = t, re, -1
		for i, n := range re.SubexpNames() {
			switch n {
			case "group":
				r.groupIdx = i
			case "resource":
				r.resIdx = i
			}
		}
		if r.resIdx < 0 {
			return nil, src.Errorf(path+".template", "template %q must contain <<.Resource>>", m.Template)
		}
	}
	return r, nil
}

// Normalize returns gr as the REST mapper spells it (plural resource, full
// group), or an error if the mapper does not know it.
func Normalize(mapper apimeta.RESTMapper, gr schema.GroupResource) (schema.GroupResource, error) {
	gvr, err := mapper.ResourceFor(gr.WithVersion(""))
	if err != nil {
		return gr, err
	}
	return gvr.GroupResource(), nil
}

// ForLabel returns the group-resource a label names, if any.
func (r *Resources) ForLabel(label string) (schema.GroupResource, bool) {
	if gr, ok := r.overrides[label]; ok {
		return gr, true
	}
	if r.extract == nil {
		return schema.GroupResource{}, false
	}
	r.mu.RLock()
	c, cached := r.byLabel[label]
	r.mu.RUnlock()
	if cached && (c.ok || r.now().Sub(c.at) < missTTL) {
		return c.gr, c.ok
	}
	// Most labels (code, method, le...) are not resources: the mapper says
	// so, and the answer is cached for missTTL, so discovery does not ask
	// the mapper again for each series.
	c = labelResource{at: r.now()}
	if m := r.extract.FindStringSubmatch(label); m != nil {
		gr := schema.GroupResource{Resource: m[r.resIdx]}
		if r.groupIdx >= 0 {
			gr.Group = m[r.groupIdx]
		}
		if n, err := Normalize(r.mapper, gr); err == nil {
			c = labelResource{gr: n, ok: true}
		}
	}
	r.mu.Lock()
	r.byLabel[label] = c
	if c.ok {
		if _, ok := r.byGR[c.gr]; !ok {
			r.byGR[c.gr] = label
		}
	}
	r.mu.Unlock()
	return c.gr, c.ok
}

// ForLabels returns the group-resources named by a series' label names, and
// whether the series is namespaced (one of them names namespaces).
func (r *Resources) ForLabels(labels []string) (grs []schema.GroupResource, namespaced bool) {
	for _, l := range labels {
		gr, ok := r.ForLabel(l)
		if !ok {
			continue
		}
		grs = append(grs, gr)
		if gr == Namespaces {
			namespaced = true
		}
	}
	return grs, namespaced
}

// LabelFor returns the label naming objects of gr (normalized).
func (r *Resources) LabelFor(gr schema.GroupResource) (string, error) {
	if l, ok := r.labelOf[gr]; ok {
		return l, nil
	}
	r.mu.RLock()
	l, ok := r.byGR[gr]
	r.mu.RUnlock()
	if ok {
		return l, nil
	}
	if r.template == nil {
		return "", fmt.Errorf("the rule maps no label to %s (no override for it and no template)", gr)
	}
	singular, err := r.mapper.ResourceSingularizer(gr.Resource)
	if err != nil {
		return "", fmt.Errorf("cannot singularize %s: %v", gr, err)
	}
	var buf bytes.Buffer
	if err := r.template.Execute(&buf, config.ResourceTemplateArgs{Group: groupSanitizer.Replace(gr.Group), Resource: singular}); err != nil {
		return "", err
	}
	if buf.Len() == 0 {
		return "", fmt.Errorf("the resources template gives an empty label for %s", gr)
	}
	l = buf.String()
	r.mu.Lock()
	r.byGR[gr] = l
	r.mu.Unlock()
	return l, nil
}
