package lower_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// nodeFieldWritesAllowed are the assignments to a field named Inputs or
// Captures outside the edit API that are not lower.Node fields, by file
// and assigned expression.
var nodeFieldWritesAllowed = map[string]bool{
	"cmd/onnxquant/inspect.go: rep.Inputs": true, // the inspect report
	"cmd/onnxquant/inspect.go: e.Captures": true, // the inspect report
}

// TestNodeInputsAreWrittenOnlyByTheEditAPI: no code outside the edit API
// (lower/users.go, lower/edit.go) that can hold a lower.Node assigns Node.Inputs or Node.Captures, or
// an element of them: the users index would not see the change and Users
// would silently miss the new reader. Use SetInput, SetInputs or
// SetCaptures. (A syntactic check: a new field of that name on another
// type goes into nodeFieldWritesAllowed.)
func TestNodeInputsAreWrittenOnlyByTheEditAPI(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var bad []string
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if strings.HasPrefix(d.Name(), ".") || rel == "onnxio/onnxpb" || d.Name() == "node_modules" || d.Name() == "testdata" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") || rel == "lower/users.go" || rel == "lower/edit.go" {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		// Only lower itself and the files that import it can hold nodes.
		uses := strings.HasPrefix(rel, "lower/")
		for _, imp := range f.Imports {
			uses = uses || imp.Path.Value == `"github.com/onnxquant/onnxquant/lower"`
		}
		if !uses {
			return nil
		}
		ast.Inspect(f, func(n ast.Node) bool {
			var targets []ast.Expr
			switch s := n.(type) {
			case *ast.AssignStmt:
				targets = s.Lhs
			case *ast.CallExpr:
				if id, ok := s.Fun.(*ast.Ident); ok && id.Name == "copy" && len(s.Args) > 0 {
					targets = s.Args[:1]
				}
			}
			for _, e := range targets {
				text, ok := fieldWrite(e)
				if !ok {
					continue
				}
				key := rel + ": " + text
				if !nodeFieldWritesAllowed[key] {
					bad = append(bad, fset.Position(e.Pos()).String()+": "+text)
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bad {
		t.Errorf("%s is assigned outside the edit API; use SetInput/SetInputs/SetCaptures", b)
	}
}

// fieldWrite renders an assigned expression X.Inputs, X.Inputs[i],
// X.Captures or X.Captures[i] as "X.Inputs" or "X.Inputs[]".
func fieldWrite(e ast.Expr) (string, bool) {
	suffix := ""
	if ix, ok := e.(*ast.IndexExpr); ok {
		e, suffix = ix.X, "[]"
	}
	sel, ok := e.(*ast.SelectorExpr)
	if !ok || (sel.Sel.Name != "Inputs" && sel.Sel.Name != "Captures") {
		return "", false
	}
	return render(sel.X) + "." + sel.Sel.Name + suffix, true
}

func render(e ast.Expr) string {
	switch x := e.(type) {
	case *ast.Ident:
		return x.Name
	case *ast.SelectorExpr:
		return render(x.X) + "." + x.Sel.Name
	case *ast.IndexExpr:
		return render(x.X) + "[]"
	case *ast.StarExpr:
		return "*" + render(x.X)
	case *ast.ParenExpr:
		return "(" + render(x.X) + ")"
	}
	return "?"
}
