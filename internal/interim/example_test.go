package interim_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/gatescale/gatescale/internal/interim"
	"github.com/gatescale/gatescale/internal/interim/interimtest"
)

// A handler sends 103 Early Hints with a Link field; the final answer keeps
// the header the handler had set, without the Link.
func ExampleWrite() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-Id", "abc")
		interim.Write(w, http.StatusEarlyHints, http.Header{"Link": {"</app.css>; rel=preload"}})
		io.WriteString(w, "page")
	}))
	defer srv.Close()

	var hints interimtest.Recorder
	req, _ := http.NewRequestWithContext(hints.Context(context.Background()), "GET", srv.URL, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, a := range hints.Answers() {
		fmt.Println(a.Code, a.Header.Get("Link"), a.Header.Get("X-Request-Id"))
	}
	fmt.Printf("%d %s Link=%q X-Request-Id=%s\n", resp.StatusCode, body, resp.Header.Get("Link"), resp.Header.Get("X-Request-Id"))
	// Output:
	// 103 </app.css>; rel=preload abc
	// 200 page Link="" X-Request-Id=abc
}
