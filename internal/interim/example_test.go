package interim_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"

	"github.com/gatescale/gatescale/internal/interim"
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

	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
		fmt.Println(code, h.Get("Link"), h.Get("X-Request-Id"))
		return nil
	}}
	req, _ := http.NewRequest("GET", srv.URL, nil)
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Printf("%d %s Link=%q X-Request-Id=%s\n", resp.StatusCode, body, resp.Header.Get("Link"), resp.Header.Get("X-Request-Id"))
	// Output:
	// 103 </app.css>; rel=preload abc
	// 200 page Link="" X-Request-Id=abc
}
