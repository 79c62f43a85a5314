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

// publicPackages lists the module's packages an embedder can import: not
// under internal/, not commands, not the end-to-end tests.
func publicPackages(t *testing.T) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{.Name}}", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		path, name, _ := strings.Cut(line, " ")
		if name == "main" || strings.Contains(path+"/", "/internal/") || strings.HasSuffix(path, "/tests") {
			continue
		}
		pkgs = append(pkgs, path)
	}
	if len(pkgs) < 8 {
		t.Fatalf("go list found only %d public packages: %v", len(pkgs), pkgs)
	}
	return pkgs
}

// apiLeaks lists what the exported identifiers of package path reach that
// an embedder cannot or should not have to use: a type of a package under
// internal/ (it cannot name it), or a third-party type (it would have to
// import, and version-match, our dependencies; gorgonia's tensors were
// the case). Protobuf's reflection types, which every generated ONNX type
// carries, are the one third-party surface, as in any Go ONNX package.
func apiLeaks(t *testing.T, path string) []string {
	t.Helper()
	const self = "github.com/onnxquant/onnxquant"
	files := exportData(t, path)
	lookup := func(p string) (io.ReadCloser, error) {
		f, ok := files[p]
		if !ok {
			return nil, fmt.Errorf("no export data for %s", p)
		}
		return os.Open(f)
	}
	pkg, err := importer.ForCompiler(token.NewFileSet(), "gc", lookup).Import(path)
	if err != nil {
		t.Fatal(err)
	}
	var leaks []string
	seen := map[types.Type]bool{}
	var visit func(where string, typ types.Type)
	visit = func(where string, typ types.Type) {
		if seen[typ] {
			return
		}
		seen[typ] = true
		switch tt := typ.(type) {
		case *types.Alias:
			visit(where, types.Unalias(tt))
		case *types.Named:
			if p := tt.Obj().Pkg(); p != nil {
				pp := p.Path()
				if strings.HasPrefix(pp, "google.golang.org/protobuf/") {
					return
				}
				if strings.HasPrefix(pp, self+"/") && strings.Contains(pp+"/", "/internal/") {
					leaks = append(leaks, fmt.Sprintf("%s: internal type %s", where, tt))
					return
				}
				if !strings.HasPrefix(pp, self) && strings.Contains(pp, ".") {
					leaks = append(leaks, fmt.Sprintf("%s: third-party type %s", where, tt))
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
		case *types.Array:
			visit(where, tt.Elem())
		case *types.Chan:
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
			visit(pkg.Name()+"."+name, obj.Type())
		}
	}
	return leaks
}

// No package meant for embedders exposes a third-party tensor type or a
// type of an internal package, through its exported identifiers or
// anything they reach (fields, methods, parameters, results).
func TestPublicAPIHoldsNoThirdPartyOrInternalType(t *testing.T) {
	for _, path := range publicPackages(t) {
		for _, leak := range apiLeaks(t, path) {
			t.Errorf("%s: %s", path, leak)
		}
	}
}

// The check itself must catch a leak: internal/dataset's API holds
// gorgonia tensors (EncodeNPY, ReadNPY, Sample.Inputs), which is why it is
// internal, and its own types are internal ones.
func TestAPILeakCheckFindsGorgoniaInTheDatasetReader(t *testing.T) {
	leaks := strings.Join(apiLeaks(t, "github.com/onnxquant/onnxquant/internal/dataset"), "\n")
	for _, want := range []string{"dataset.EncodeNPY: third-party type gorgonia.org/tensor.Dense", "dataset.FromFunc: internal type github.com/onnxquant/onnxquant/internal/dataset.Set"} {
		if !strings.Contains(leaks, want) {
			t.Errorf("leaks of internal/dataset do not include %q:\n%s", want, leaks)
		}
	}
}
