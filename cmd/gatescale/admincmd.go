package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/gatescale/gatescale/gateway/admin"
	"github.com/gatescale/gatescale/gateway/spec"
)

const adminUsage = `usage: gatescale admin [-url URL] [-token-file FILE] COMMAND
  (URL: $GATESCALE_ADMIN_URL or http://127.0.0.1:9090; token: -token-file or $GATESCALE_ADMIN_TOKEN)
  get PATH                          GET /admin/PATH: config, routes, routes/NAME, revisions, tokens...
  put KIND/NAME FILE                create or replace an upstream, route or consumer from JSON (FILE or -)
  delete KIND/NAME                  delete an upstream, route or consumer
  lifecycle ROUTE STATE [-since T] [-sunset T] [-successor PATH]
                                    draft, published, deprecated or retired (T: RFC 3339)
  key CONSUMER [-id ID]             a new API key for CONSUMER, printed once
  diff N [-from M]                  what changed from revision M (default N-1) to N
  rollback N [-yes]                 show what going back to revision N changes; write it with -yes
Writes send If-Match with the revision they read: a concurrent change is reported, not overwritten.
`

func runAdmin(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("admin", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	url := fs.String("url", envOr("GATESCALE_ADMIN_URL", "http://127.0.0.1:9090"), "admin listener URL")
	tokenFile := fs.String("token-file", "", "file holding the admin token (default: $GATESCALE_ADMIN_TOKEN)")
	if err := fs.Parse(args); err != nil || fs.NArg() == 0 {
		fmt.Fprint(stdout, adminUsage)
		return err
	}
	token := os.Getenv("GATESCALE_ADMIN_TOKEN")
	if *tokenFile != "" {
		b, err := os.ReadFile(*tokenFile)
		if err != nil {
			return err
		}
		token = strings.TrimSpace(string(b))
	}
	c := &admin.Client{URL: *url, Token: token}
	cmd, rest := fs.Arg(0), fs.Args()[1:]
	switch cmd {
	case "get":
		if len(rest) != 1 {
			return errors.New("usage: gatescale admin get PATH")
		}
		var out json.RawMessage
		if _, err := c.Do(ctx, http.MethodGet, "/admin/"+strings.TrimPrefix(rest[0], "/admin/"), 0, nil, &out); err != nil {
			return err
		}
		return printJSON(stdout, out)
	case "put", "delete":
		if cmd == "put" && len(rest) != 2 || cmd == "delete" && len(rest) != 1 {
			return fmt.Errorf("usage: gatescale admin %s KIND/NAME%s", cmd, map[bool]string{true: " FILE"}[cmd == "put"])
		}
		path, err := objectPath(rest[0])
		if err != nil {
			return err
		}
		var body any
		if cmd == "put" {
			raw, err := readInput(rest[1])
			if err != nil {
				return err
			}
			body = json.RawMessage(raw)
		}
		_, rev, err := c.Config(ctx)
		if err != nil {
			return err
		}
		var out json.RawMessage
		rev, err = c.Do(ctx, strings.ToUpper(cmd), path, rev, body, &out)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "revision %d\n", rev)
		return printJSON(stdout, out)
	case "lifecycle":
		lf := flag.NewFlagSet("lifecycle", flag.ContinueOnError)
		since := lf.String("since", "", "deprecated since (RFC 3339)")
		sunset := lf.String("sunset", "", "sunset (RFC 3339)")
		successor := lf.String("successor", "", "the path or URL that replaces it")
		if len(rest) < 2 {
			return errors.New("usage: gatescale admin lifecycle ROUTE STATE [-since T] [-sunset T] [-successor PATH]")
		}
		if err := lf.Parse(rest[2:]); err != nil {
			return err
		}
		rev, err := c.Update(ctx, rest[0], func(r *spec.Route) error {
			l := spec.Lifecycle{State: rest[1]}
			if r.Lifecycle != nil {
				l = *r.Lifecycle
				l.State = rest[1]
			}
			for _, f := range []struct {
				to *string
				v  string
			}{{&l.Since, *since}, {&l.Sunset, *sunset}, {&l.Successor, *successor}} {
				if f.v != "" {
					*f.to = f.v
				}
			}
			r.Lifecycle = &l
			return nil
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "route %s is %s (revision %d)\n", rest[0], rest[1], rev)
		return nil
	case "key":
		kf := flag.NewFlagSet("key", flag.ContinueOnError)
		id := kf.String("id", "", "the key's id (default: CONSUMER-<hash prefix>)")
		if len(rest) < 1 {
			return errors.New("usage: gatescale admin key CONSUMER [-id ID]")
		}
		if err := kf.Parse(rest[1:]); err != nil {
			return err
		}
		_, rev, err := c.Config(ctx)
		if err != nil {
			return err
		}
		var key admin.NewKey
		if _, err := c.Do(ctx, http.MethodPost, "/admin/consumers/"+rest[0]+"/keys", rev, map[string]string{"id": *id}, &key); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "id:  %s\nkey: %s\n(shown once: only its SHA-256 is kept)\n", key.ID, key.Key)
		return nil
	case "diff", "rollback":
		df := flag.NewFlagSet(cmd, flag.ContinueOnError)
		from := df.String("from", "", "from this revision (diff; default N-1)")
		yes := df.Bool("yes", false, "write the rollback (rollback)")
		if len(rest) < 1 {
			return fmt.Errorf("usage: gatescale admin %s N", cmd)
		}
		if err := df.Parse(rest[1:]); err != nil {
			return err
		}
		n := rest[0]
		_, cur, err := c.Config(ctx)
		if err != nil {
			return err
		}
		q := ""
		switch {
		case cmd == "rollback":
			q = fmt.Sprintf("?from=%d", cur) // what going back to N changes
		case *from != "":
			q = "?from=" + *from
		}
		var d admin.DiffView
		if _, err := c.Do(ctx, http.MethodGet, "/admin/revisions/"+n+"/diff"+q, 0, nil, &d); err != nil {
			return err
		}
		for _, ch := range d.Changes {
			old, _ := json.Marshal(ch.Old)
			new, _ := json.Marshal(ch.New)
			switch ch.Op {
			case "add":
				fmt.Fprintf(stdout, "+ %s %s\n", ch.Path, new)
			case "remove":
				fmt.Fprintf(stdout, "- %s %s\n", ch.Path, old)
			default:
				fmt.Fprintf(stdout, "~ %s %s → %s\n", ch.Path, old, new)
			}
		}
		if len(d.Changes) == 0 {
			fmt.Fprintln(stdout, "no changes")
		}
		if cmd == "rollback" {
			if !*yes {
				fmt.Fprintf(stdout, "not written: add -yes to roll back to revision %s\n", n)
				return nil
			}
			rev, err := c.Do(ctx, http.MethodPost, "/admin/rollback/"+n, cur, nil, nil)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "rolled back to revision %s as revision %d\n", n, rev)
		}
		return nil
	}
	fmt.Fprint(stdout, adminUsage)
	return fmt.Errorf("unknown admin command %q", cmd)
}

// objectPath maps KIND/NAME to its API path.
func objectPath(s string) (string, error) {
	kind, name, ok := strings.Cut(s, "/")
	switch kind {
	case "upstream", "route", "consumer":
		kind += "s"
	}
	if !ok || name == "" || (kind != "upstreams" && kind != "routes" && kind != "consumers") {
		return "", fmt.Errorf("%q: want upstream/NAME, route/NAME or consumer/ID", s)
	}
	return "/admin/" + kind + "/" + name, nil
}

func readInput(name string) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(os.Stdin)
	}
	return os.ReadFile(name)
}

func printJSON(w io.Writer, raw json.RawMessage) error {
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "  "); err != nil {
		_, err = w.Write(raw)
		return err
	}
	b.WriteByte('\n')
	_, err := b.WriteTo(w)
	return err
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
