package yamlschema

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
)

// Comments returns a Describe function that reads the doc comments of
// struct fields from the Go source of the module at dir (whose module
// path is module): the description of a key is the comment of the field
// that holds it, so it is written once, next to the field.
func Comments(dir, module string) func(t reflect.Type, key string) string {
	pkgs := map[string]map[string]map[string]string{} // pkg path → type → key → text
	return func(t reflect.Type, key string) string {
		pkg := t.PkgPath()
		if _, ok := pkgs[pkg]; !ok {
			pkgs[pkg] = parsePackage(dir, module, pkg)
		}
		return pkgs[pkg][t.Name()][key]
	}
}

func parsePackage(dir, module, pkg string) map[string]map[string]string {
	out := map[string]map[string]string{}
	rel, ok := strings.CutPrefix(pkg, module)
	if !ok {
		return out
	}
	pdir := filepath.Join(dir, filepath.FromSlash(strings.TrimPrefix(rel, "/")))
	entries, err := os.ReadDir(pdir)
	if err != nil {
		return out
	}
	aliases := map[string]string{} // type X Y: X's fields are Y's
	defer func() {
		for x, y := range aliases {
			if _, ok := out[x]; !ok {
				out[x] = out[y]
			}
		}
	}()
	fset := token.NewFileSet()
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(pdir, name), nil, parser.ParseComments)
		// Test files of the package itself count (their types are its
		// types in tests); an external test package's do not.
		if err != nil || strings.HasSuffix(f.Name.Name, "_test") {
			continue
		}
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.TYPE {
				continue
			}
			for _, spec := range gd.Specs {
				ts := spec.(*ast.TypeSpec)
				st, ok := ts.Type.(*ast.StructType)
				if id, isIdent := ts.Type.(*ast.Ident); isIdent {
					aliases[ts.Name.Name] = id.Name
				}
				if !ok {
					continue
				}
				fields := map[string]string{}
				for _, fl := range st.Fields.List {
					if fl.Tag == nil {
						continue
					}
					tag, _ := strconv.Unquote(fl.Tag.Value)
					key, _, _ := strings.Cut(reflect.StructTag(tag).Get("yaml"), ",")
					if key == "" || key == "-" {
						continue
					}
					text := fl.Doc.Text()
					if text == "" {
						text = fl.Comment.Text()
					}
					words := strings.Fields(text)
					// "MaxBytes is ..." reads "max_bytes is ..." in the file's terms.
					if len(words) > 0 && len(fl.Names) == 1 && words[0] == fl.Names[0].Name {
						words[0] = key
					}
					if text = strings.Join(words, " "); text != "" {
						fields[key] = text
					}
				}
				out[ts.Name.Name] = fields
			}
		}
	}
	return out
}
