package fileerr

import "testing"

func TestError(t *testing.T) {
	for _, c := range []struct {
		e    Error
		want string
	}{
		{Error{File: "g.yaml", Line: 3, Column: 5, Path: "routes[0].upstream", Message: "is required"}, "g.yaml:3:5: routes[0].upstream: is required"},
		{Error{File: "g.yaml", Message: "empty file"}, "g.yaml: empty file"},
	} {
		if got := c.e.Error(); got != c.want {
			t.Errorf("%q, want %q", got, c.want)
		}
	}
}

func TestRead(t *testing.T) {
	_, err := Read("/nonexistent/gatescale.yaml")
	if err == nil || err.Error() != "/nonexistent/gatescale.yaml: no such file or directory" {
		t.Fatalf("err = %v", err)
	}
}
