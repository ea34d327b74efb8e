package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// The browser tests drive a real headless Chromium (Debian's chromium,
// installed by `make deps`) against a real gateway. Without it they skip,
// unless GATESCALE_REQUIRE_REAL is set.

var (
	browserOnce   sync.Once
	browserCtx    context.Context
	browserErr    error
	browserCancel context.CancelFunc = func() {}
)

func TestMain(m *testing.M) {
	code := m.Run()
	browserCancel() // one Chromium for the whole package, stopped here
	os.Exit(code)
}

func chromiumPath() string {
	if p := os.Getenv("GATESCALE_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// tab opens a new tab of the shared browser, sized like a laptop screen.
// It fails the test on any uncaught exception or console error of the page
// (a Content-Security-Policy violation is one).
func tab(t *testing.T) context.Context {
	t.Helper()
	path := chromiumPath()
	if path == "" {
		if os.Getenv("GATESCALE_REQUIRE_REAL") != "" {
			t.Fatal("chromium is not installed (hack/install-debs.sh chromium) and GATESCALE_REQUIRE_REAL is set")
		}
		t.Skip("chromium is not installed: hack/install-debs.sh chromium (or make deps); GATESCALE_REQUIRE_REAL=1 makes this a failure")
	}
	browserOnce.Do(func() {
		dir, err := os.MkdirTemp("", "gatescale-console-chromium-")
		if err != nil {
			browserErr = err
			return
		}
		opts := append(chromedp.DefaultExecAllocatorOptions[:],
			chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.UserDataDir(dir),
			chromedp.Flag("disable-quic", true), chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true), chromedp.WindowSize(1280, 800))
		alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
		ctx, cancelCtx := chromedp.NewContext(alloc)
		browserCtx = ctx
		browserCancel = func() { cancelCtx(); cancelAlloc(); os.RemoveAll(dir) }
		browserErr = chromedp.Do(ctx) // starts the browser
	})
	if browserErr != nil {
		t.Fatalf("starting chromium: %v", browserErr)
	}
	tabCtx, cancel := chromedp.NewContext(browserCtx)
	var mu sync.Mutex
	var problems []string
	err := chromedp.Listen(tabCtx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			problems = append(problems, "exception: "+ev.ExceptionDetails.Text+" "+ev.ExceptionDetails.URL)
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError {
				var parts []string
				for _, a := range ev.Args {
					parts = append(parts, string(a.Value)+a.Description)
				}
				problems = append(problems, "console error: "+strings.Join(parts, " "))
			}
		}
	})
	if err == nil {
		err = chromedp.Do(tabCtx, chromedp.EmulateViewport(1280, 800))
	}
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	// A timeout only on the tab's later actions (not on the one that opened it).
	ctx, cancelTimeout := context.WithTimeout(tabCtx, 3*time.Minute)
	t.Cleanup(func() {
		cancelTimeout()
		cancel()
		mu.Lock()
		defer mu.Unlock()
		for _, p := range problems {
			// A refused write shows as a failed fetch in the console: that
			// is the API doing its job, not a page error.
			if strings.Contains(p, "status of 4") {
				continue
			}
			t.Errorf("page: %s", p)
		}
	})
	return ctx
}

// artifacts is where screenshots go: $GATESCALE_ARTIFACTS or testdata/artifacts (git-ignored).
func artifacts(t *testing.T) string {
	dir := os.Getenv("GATESCALE_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("testdata", "artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	p := filepath.Join(artifacts(t), name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s", p)
}

func run(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		screenshot(t, ctx, "failed-"+strings.ReplaceAll(t.Name(), "/", "_"))
		t.Fatalf("%s: %v", what, err)
	}
}

func login(t *testing.T, ctx context.Context, e *env, secret string) {
	t.Helper()
	run(t, ctx, "log in",
		chromedp.Navigate(e.admin+"/console/"),
		chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.SendKeys(chromedp.CSS("#token"), secret),
		chromedp.Click(chromedp.CSS("#login-submit")),
		chromedp.WaitVisible(chromedp.CSS("#nav")),
		chromedp.WaitVisible(chromedp.CSS(`#apis-table tr[data-route="beta"]`)))
}

func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	out, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		screenshot(t, ctx, "failed-"+strings.ReplaceAll(t.Name(), "/", "_"))
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return out
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	// Read in one evaluation: live tables are rebuilt every second, so a
	// node found by one protocol call may be gone by the next.
	js, _ := json.Marshal(sel)
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => { const el = document.querySelector(`+string(js)+`); return el ? el.innerText : "(no `+strings.ReplaceAll(strings.Trim(string(js), `"`), "`", "")+`)"; })()`))
	if err != nil {
		screenshot(t, ctx, "failed-"+strings.ReplaceAll(t.Name(), "/", "_"))
		t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

func TestBrowserOperatorFlow(t *testing.T) {
	ctx := tab(t)
	e := newEnv(t, time.Second)

	// A wrong token is refused at the login form.
	run(t, ctx, "wrong token",
		chromedp.Navigate(e.admin+"/console/"),
		chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.SendKeys(chromedp.CSS("#token"), "not-a-token"),
		chromedp.Click(chromedp.CSS("#login-submit")),
		chromedp.WaitVisible(chromedp.CSS("#login-error")))
	if got := text(t, ctx, "#login-error"); !strings.Contains(got, "not accepted") {
		t.Errorf("login error %q", got)
	}
	eval[string](t, ctx, `document.querySelector("#token").value = ""`)
	login(t, ctx, e, adminSecret)
	if got := text(t, ctx, "#who-role"); got != "admin" {
		t.Errorf("role shown %q", got)
	}

	t.Run("live QPS changes under load", func(t *testing.T) {
		run(t, ctx, "traffic view", chromedp.Navigate(e.admin+"/console/#traffic"),
			chromedp.WaitVisible(chromedp.CSS(`#traffic-table tr[data-route="users"] .qps`)))
		seen := map[string]bool{}
		deadline := time.Now().Add(15 * time.Second)
		for len(seen) < 3 && time.Now().Before(deadline) {
			v := text(t, ctx, `#traffic-table tr[data-route="users"] .qps`)
			if q, err := strconv.ParseFloat(v, 64); err == nil && q > 0 {
				seen[v] = true
			}
			time.Sleep(400 * time.Millisecond)
		}
		if len(seen) < 2 {
			t.Fatalf("users QPS shown: %v; want at least two different non-zero values within 15s", seen)
		}
		t.Logf("users QPS values seen: %v", slices.Sorted(mapsKeys(seen)))
		if n := eval[int](t, ctx, `document.querySelectorAll('#traffic-table tr[data-route="users"] svg.spark polyline').length`); n == 0 {
			t.Error("no QPS chart line for users")
		}
		p99 := text(t, ctx, `#traffic-table tr[data-route="users"] .p99`)
		if !strings.HasSuffix(p99, "ms") && !strings.HasSuffix(p99, " s") {
			t.Errorf("users p99 %q", p99)
		}
		if !eval[bool](t, ctx, `document.querySelector('#replicas').hidden && document.querySelector('#autoscaling').hidden && document.querySelector('#cluster').hidden`) {
			t.Error("one replica, no Prometheus, no Kubernetes: the per-replica, cluster and autoscaling views should be hidden")
		}
		screenshot(t, ctx, "traffic")
	})

	t.Run("publish a draft", func(t *testing.T) {
		if got := e.status(t, "/beta/x"); got != 404 {
			t.Fatalf("draft beta answered %d before publishing, want 404", got)
		}
		run(t, ctx, "publish beta", chromedp.Navigate(e.admin+"/console/#apis"),
			chromedp.WaitVisible(chromedp.CSS(`button[data-action="publish"][data-route="beta"]`)),
			chromedp.Click(chromedp.CSS(`button[data-action="publish"][data-route="beta"]`)),
			chromedp.WaitVisible(chromedp.CSS("#confirm-dialog")),
			chromedp.Click(chromedp.CSS("#confirm-ok")),
			chromedp.WaitVisible(chromedp.CSS(`#apis-table tr[data-route="beta"][data-state="published"]`)))
		e.waitStatus(t, "/beta/x", 200)
	})

	t.Run("retire answers 410", func(t *testing.T) {
		run(t, ctx, "retire orders",
			chromedp.Click(chromedp.CSS(`button[data-action="retire"][data-route="orders"]`)),
			chromedp.WaitVisible(chromedp.CSS("#cf-successor")),
			chromedp.SendKeys(chromedp.CSS("#cf-successor"), "/v2/orders"),
			chromedp.Click(chromedp.CSS("#confirm-ok")),
			chromedp.WaitVisible(chromedp.CSS(`#apis-table tr[data-route="orders"][data-state="retired"]`)))
		e.waitStatus(t, "/orders/5", 410)
		if n := eval[int](t, ctx, `document.querySelectorAll('#apis-table tr[data-route="orders"] button[data-action="retire"]').length`); n != 0 {
			t.Error("a retired API still offers Retire")
		}
		screenshot(t, ctx, "apis")
	})

	t.Run("deprecate with a sunset", func(t *testing.T) {
		run(t, ctx, "deprecate users with a bad sunset",
			chromedp.Click(chromedp.CSS(`button[data-action="deprecate"][data-route="users"]`)),
			chromedp.WaitVisible(chromedp.CSS("#cf-sunset")),
			chromedp.SendKeys(chromedp.CSS("#cf-sunset"), "next spring"),
			chromedp.Click(chromedp.CSS("#confirm-ok")),
			chromedp.WaitVisible(chromedp.CSS("#cf-sunset-err")))
		t.Logf("refused sunset, at its field: %q", text(t, ctx, "#cf-sunset-err"))
		eval[string](t, ctx, `document.querySelector("#cf-sunset").value = "2027-01-31T00:00:00Z"`)
		run(t, ctx, "deprecate users",
			chromedp.Click(chromedp.CSS("#confirm-ok")),
			chromedp.WaitVisible(chromedp.CSS(`#apis-table tr[data-route="users"][data-state="deprecated"]`)))
		deadline := time.Now().Add(10 * time.Second)
		for {
			resp, err := http.Get(e.base + "/users/1")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.Header.Get("Sunset") == "Sun, 31 Jan 2027 00:00:00 GMT" && resp.Header.Get("Deprecation") != "" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("users answers without Deprecation/Sunset: %v", resp.Header)
			}
			time.Sleep(50 * time.Millisecond)
		}
	})

	t.Run("validation error at its field", func(t *testing.T) {
		run(t, ctx, "new API with an unknown upstream",
			chromedp.Click(chromedp.CSS("#api-new")),
			chromedp.WaitVisible(chromedp.CSS("#route-dialog")),
			chromedp.SendKeys(chromedp.CSS("#rf-name"), "bad"),
			chromedp.SendKeys(chromedp.CSS("#rf-path_prefix"), "/bad"),
			chromedp.SendKeys(chromedp.CSS("#rf-upstream"), "nope"),
			chromedp.Click(chromedp.CSS("#route-save")),
			chromedp.WaitVisible(chromedp.CSS(`#rf-upstream-err`)))
		if got := eval[string](t, ctx, `document.querySelector('#rf-upstream').getAttribute('aria-invalid')`); got != "true" {
			t.Errorf("upstream field aria-invalid=%q", got)
		}
		msg := text(t, ctx, "#rf-upstream-err")
		if !strings.Contains(msg, "nope") {
			t.Errorf("upstream field error %q, want it to name the unknown upstream", msg)
		}
		if got := eval[string](t, ctx, `document.activeElement.id`); got != "rf-upstream" {
			t.Errorf("focus on %q, want the invalid field", got)
		}
		if n := eval[int](t, ctx, `document.querySelectorAll('#route-form [aria-invalid="true"]').length`); n != 1 {
			t.Errorf("%d fields marked invalid, want 1", n)
		}
		t.Logf("shown at the upstream field: %q", msg)
		screenshot(t, ctx, "validation-error")
		run(t, ctx, "cancel", chromedp.Click(chromedp.CSS("#route-cancel")))
		st, err := e.store.Load(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range st.Config.Routes {
			if r.Name == "bad" {
				t.Error("the refused route was stored")
			}
		}
	})

	t.Run("composite graph", func(t *testing.T) {
		run(t, ctx, "graph view", chromedp.Navigate(e.admin+"/console/#graph"),
			chromedp.WaitVisible(chromedp.CSS(`svg[data-route="order-page"]`)))
		type graph struct {
			Nodes  []string `json:"nodes"`
			Edges  []string `json:"edges"`
			Labels []string `json:"labels"`
		}
		const js = `(() => { const svg = document.querySelector('svg[data-route="order-page"]');
		  return { nodes: [...svg.querySelectorAll('g.node')].map(n => n.dataset.id + '/' + n.querySelector('.node-label').textContent),
		    edges: [...svg.querySelectorAll('g.edge')].map(e => e.dataset.from + '>' + e.dataset.to),
		    labels: [...svg.querySelectorAll('text.edge-label')].map(t => t.textContent) }; })()`
		var g graph
		deadline := time.Now().Add(10 * time.Second)
		for { // the labels appear once the calls have metrics
			g = eval[graph](t, ctx, js)
			if len(g.Labels) == 3 || time.Now().After(deadline) {
				break
			}
			time.Sleep(300 * time.Millisecond)
		}
		slices.Sort(g.Nodes)
		slices.Sort(g.Edges)
		if want := []string{"call:catalog/catalog", "call:order/order", "call:user/user", "route/order-page"}; !slices.Equal(g.Nodes, want) {
			t.Errorf("nodes %v, want %v", g.Nodes, want)
		}
		if want := []string{"call:order>call:user", "route>call:catalog", "route>call:order"}; !slices.Equal(g.Edges, want) {
			t.Errorf("edges %v, want %v", g.Edges, want)
		}
		if len(g.Labels) != 3 {
			t.Errorf("edge labels %v, want p99 and error rate on each of the 3 edges", g.Labels)
		}
		for _, l := range g.Labels {
			if !strings.HasPrefix(l, "p99 ") || !strings.HasSuffix(l, "err") {
				t.Errorf("edge label %q", l)
			}
		}
		// Every edge starts and ends on a drawn node: user is right of order.
		if !eval[bool](t, ctx, `(() => { const svg = document.querySelector('svg[data-route="order-page"]');
		  const x = id => svg.querySelector('g.node[data-id="' + id + '"]').transform.baseVal[0].matrix.e;
		  return x('route') < x('call:order') && x('call:order') < x('call:user') && x('call:catalog') === x('call:order'); })()`) {
			t.Error("layers: user should be drawn right of order, catalog beside order")
		}
		t.Logf("graph: nodes %v edges %v labels %v", g.Nodes, g.Edges, g.Labels)
		screenshot(t, ctx, "graph")
	})

	t.Run("upstreams with health", func(t *testing.T) {
		run(t, ctx, "upstreams view", chromedp.Navigate(e.admin+"/console/#upstreams"),
			chromedp.WaitVisible(chromedp.CSS(`[data-upstream="users"] tr[data-state="healthy"]`)))
		if n := eval[int](t, ctx, `document.querySelectorAll('#upstreams tr[data-state="healthy"]').length`); n != 3 {
			t.Errorf("%d healthy instances shown, want 3", n)
		}
		screenshot(t, ctx, "upstreams")
	})

	t.Run("consumers and a flow limit", func(t *testing.T) {
		run(t, ctx, "consumers view", chromedp.Navigate(e.admin+"/console/#consumers"),
			chromedp.WaitVisible(chromedp.CSS(`tr[data-consumer="acme"]`)))
		row := text(t, ctx, `tr[data-consumer="acme"]`)
		if !strings.Contains(row, "acme-1") || !strings.Contains(row, "partner") || strings.Contains(row, "abab") {
			t.Errorf("consumer row %q: want the key id and role, never the hash", row)
		}
		run(t, ctx, "edit the limit to 0",
			chromedp.Click(chromedp.CSS(`#limits-table tr[data-route="users"] button[data-action="edit-limit"]`)),
			chromedp.WaitVisible(chromedp.CSS("#lf-rate")),
			chromedp.SetValue(chromedp.CSS("#lf-rate"), "0"),
			chromedp.Click(chromedp.CSS("#confirm-ok")),
			chromedp.WaitVisible(chromedp.CSS("#lf-rate-err")))
		t.Logf("rate 0 refused at its field: %q", text(t, ctx, "#lf-rate-err"))
		run(t, ctx, "edit the limit to 500",
			chromedp.SetValue(chromedp.CSS("#lf-rate"), "500"),
			chromedp.Click(chromedp.CSS("#confirm-ok")),
			chromedp.WaitNotVisible(chromedp.CSS("#confirm-dialog")),
			chromedp.WaitVisible(chromedp.CSS(`#limits-table tr[data-route="users"]`)))
		st, err := e.store.Load(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if got := st.Config.Routes[0].RateLimit[0].Rate; got != 500 {
			t.Errorf("stored rate %d, want 500", got)
		}
	})

	t.Run("roll back with the diff shown", func(t *testing.T) {
		run(t, ctx, "history view", chromedp.Navigate(e.admin+"/console/#history"),
			chromedp.WaitVisible(chromedp.CSS(`button[data-action="rollback"][data-revision="1"]`)),
			chromedp.Click(chromedp.CSS(`button[data-action="rollback"][data-revision="1"]`)),
			chromedp.WaitVisible(chromedp.CSS("#confirm-diff")))
		removed := eval[[]string](t, ctx, `[...document.querySelectorAll('#confirm-diff .del')].map(x => x.textContent)`)
		added := eval[[]string](t, ctx, `[...document.querySelectorAll('#confirm-diff .add')].map(x => x.textContent)`)
		if !containsText(removed, `"retired"`) || !containsText(added, `"draft"`) {
			t.Errorf("diff: - %q + %q; want orders' retired state removed and beta's draft state back", removed, added)
		}
		screenshot(t, ctx, "rollback-diff")
		run(t, ctx, "confirm", chromedp.Click(chromedp.CSS("#confirm-ok")),
			chromedp.WaitNotVisible(chromedp.CSS("#confirm-dialog")))
		e.waitStatus(t, "/orders/5", 200)
		e.waitStatus(t, "/beta/x", 404)
	})

	t.Run("text contrast", func(t *testing.T) {
		for _, view := range []string{"apis", "graph", "upstreams", "traffic", "consumers", "history"} {
			run(t, ctx, view, chromedp.Navigate(e.admin+"/console/#"+view),
				chromedp.WaitVisible(chromedp.CSS("#view-"+view+" :is(tbody tr, svg, article)")))
			type result struct {
				Checked int      `json:"checked"`
				Bad     []string `json:"bad"`
			}
			r := eval[result](t, ctx, contrastJS)
			if len(r.Bad) > 0 || r.Checked < 10 {
				t.Errorf("%s: %d texts checked; below 4.5:1 contrast: %q", view, r.Checked, r.Bad)
			}
		}
	})

	t.Run("narrow screen", func(t *testing.T) {
		run(t, ctx, "narrow", chromedp.EmulateViewport(390, 844), chromedp.Navigate(e.admin+"/console/#apis"),
			chromedp.WaitVisible(chromedp.CSS(`#apis-table tr[data-route="beta"]`)))
		// Nothing but the tables' own scroll boxes may overflow the page.
		if w := eval[int](t, ctx, `document.documentElement.scrollWidth`); w > 390 {
			t.Errorf("page is %dpx wide on a 390px screen", w)
		}
		screenshot(t, ctx, "narrow-apis")
		// docs/console.png is a copy of this one.
		run(t, ctx, "back", chromedp.EmulateViewport(1280, 800), chromedp.Navigate(e.admin+"/console/#graph"),
			chromedp.WaitVisible(chromedp.CSS(`svg[data-route="order-page"] text.edge-label`)))
		screenshot(t, ctx, "console")
	})
}

func TestBrowserViewerCannotWrite(t *testing.T) {
	ctx := tab(t)
	e := newEnv(t, time.Second)
	login(t, ctx, e, viewerSecret)
	if got := text(t, ctx, "#who-role"); got != "viewer" {
		t.Errorf("role shown %q", got)
	}
	for _, view := range []string{"apis", "consumers", "history"} {
		run(t, ctx, view, chromedp.Navigate(e.admin+"/console/#"+view),
			chromedp.WaitVisible(chromedp.CSS("#view-"+view+" tbody tr")))
		n := eval[int](t, ctx, `[...document.querySelectorAll('#view-`+view+` button')].filter(b => b.offsetParent !== null).length`)
		if n != 0 {
			t.Errorf("%s: a viewer sees %d buttons", view, n)
		}
	}
	// The page's own client with the viewer's token: the API refuses.
	st, _ := e.store.Load(context.Background())
	got := eval[string](t, ctx, fmt.Sprintf(`window.gatescaleConsole.call('PUT', '/admin/routes/beta',
	  {body: {name: 'beta', path_prefix: '/beta', upstream: 'users', lifecycle: {state: 'published'}}, rev: %d})
	  .then(() => 'written', e => String(e.status))`, st.Revision))
	if got != "403" {
		t.Errorf("a viewer's write answered %s, want 403", got)
	}
	if after, _ := e.store.Load(context.Background()); after.Revision != st.Revision {
		t.Errorf("the state changed: revision %d → %d", st.Revision, after.Revision)
	}
	if code := e.status(t, "/beta/x"); code != 404 {
		t.Errorf("beta answered %d: still a draft, want 404", code)
	}
	screenshot(t, ctx, "viewer")
}

func containsText(lines []string, s string) bool {
	return slices.ContainsFunc(lines, func(l string) bool { return strings.Contains(l, s) })
}

func mapsKeys(m map[string]bool) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// contrastJS checks the visible HTML text and lists the text whose colour has less than 4.5:1
// contrast (WCAG AA) with the first opaque background behind it.
const contrastJS = `(() => {
  const parse = (c) => { const p = c.match(/rgba?\(([^)]+)\)/)[1].split(',').map(Number); return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 }; };
  const lum = ({ r, g, b }) => { const f = (c) => ((c /= 255) <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4); return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
  const bg = (el) => { for (let e = el; e; e = e.parentElement) { const c = parse(getComputedStyle(e).backgroundColor); if (c.a > 0.5) return c; } return { r: 255, g: 255, b: 255, a: 1 }; };
  const bad = [];
  let checked = 0;
  for (const el of document.querySelectorAll('body *')) {
    if (el.offsetParent === null || el.closest('svg') || el.disabled) continue;
    if (![...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim())) continue;
    checked++;
    const a = lum(parse(getComputedStyle(el).color)), b = lum(bg(el));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < 4.5) bad.push(el.tagName + ' "' + el.textContent.trim().slice(0, 30) + '" ' + ratio.toFixed(2));
  }
  return { checked, bad };
})()`
