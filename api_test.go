package onnxquant_test

import (
	"fmt"
	"go/importer"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// exportData lists the compiled export data of the package and its
// dependencies (go list -export builds them, or takes them from the cache).
func exportData(t *testing.T, pkg string) map[string]string {
	t.Helper()
	out, err := exec.Command("go", "list", "-export", "-deps", "-f", "{{.ImportPath}} {{.Export}}", pkg).Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	files := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if path, file, ok := strings.Cut(line, " "); ok && file != "" {
			files[path] = file
		}
	}
	return files
}

// The library's API is the package's exported identifiers and what they
// reach: no third-party tensor type may appear there (an embedder should
// not have to import, or version-match, our tensor library). Protobuf's
// reflection types, which every generated ONNX type carries, are the one
// third-party surface, as in any Go ONNX package.
func TestPublicAPIHoldsNoThirdPartyTensorType(t *testing.T) {
	const self = "github.com/onnxquant/onnxquant"
	files := exportData(t, self)
	lookup := func(path string) (io.ReadCloser, error) {
		f, ok := files[path]
		if !ok {
			return nil, fmt.Errorf("no export data for %s", path)
		}
		return os.Open(f)
	}
	pkg, err := importer.ForCompiler(token.NewFileSet(), "gc", lookup).Import(self)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[types.Type]bool{}
	var visit func(where string, typ types.Type)
	visit = func(where string, typ types.Type) {
		if seen[typ] {
			return
		}
		seen[typ] = true
		switch tt := typ.(type) {
		case *types.Named:
			if p := tt.Obj().Pkg(); p != nil {
				path := p.Path()
				if strings.HasPrefix(path, "google.golang.org/protobuf/") {
					return
				}
				if !strings.HasPrefix(path, self) && strings.Contains(path, ".") {
					t.Errorf("%s: third-party type %s", where, tt)
					return
				}
			}
			visit(where, tt.Underlying())
			for i := 0; i < tt.NumMethods(); i++ {
				if m := tt.Method(i); m.Exported() {
					visit(where+"."+m.Name(), m.Type())
				}
			}
		case *types.Pointer:
			visit(where, tt.Elem())
		case *types.Slice:
			visit(where, tt.Elem())
		case *types.Map:
			visit(where, tt.Key())
			visit(where, tt.Elem())
		case *types.Signature:
			for i := 0; i < tt.Params().Len(); i++ {
				visit(where, tt.Params().At(i).Type())
			}
			for i := 0; i < tt.Results().Len(); i++ {
				visit(where, tt.Results().At(i).Type())
			}
		case *types.Struct:
			for i := 0; i < tt.NumFields(); i++ {
				if f := tt.Field(i); f.Exported() {
					visit(where+"."+f.Name(), f.Type())
				}
			}
		case *types.Interface:
			for i := 0; i < tt.NumMethods(); i++ {
				visit(where+"."+tt.Method(i).Name(), tt.Method(i).Type())
			}
		}
	}
	scope := pkg.Scope()
	for _, name := range scope.Names() {
		if obj := scope.Lookup(name); obj.Exported() {
			visit(name, obj.Type())
		}
	}
}
