package interimtest_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/gatescale/gatescale/internal/interim/interimtest"
)

// A server sends 103 Early Hints before its answer; the recorder has them.
func ExampleRecorder() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</app.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		io.WriteString(w, "page")
	}))
	defer srv.Close()

	var rec interimtest.Recorder
	req, _ := http.NewRequestWithContext(rec.Context(context.Background()), "GET", srv.URL, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	for _, a := range rec.Answers() {
		fmt.Println(a.Code, a.Header.Get("Link"))
	}
	fmt.Println(resp.StatusCode)
	// Output:
	// 103 </app.css>; rel=preload
	// 200
}
