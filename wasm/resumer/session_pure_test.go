package resumer

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestSessionIsPure holds the session's files to what makes the session a
// pure state machine: they import nothing that reaches the platform, the
// network or other goroutines, start no goroutine, hold no channel, and read
// no clock (every event carries its time) and no global randomness (the
// session's own generator is seeded).
func TestSessionIsPure(t *testing.T) {
	files, err := filepath.Glob("session*.go")
	if err != nil {
		t.Fatal(err)
	}
	allowed := map[string]bool{
		"bytes": true, "encoding/base64": true, "errors": true, "fmt": true, "math": true,
		"math/rand/v2": true, "strconv": true, "time": true,
		"github.com/go-resumer/resumer/wasm/protocol": true,
		"github.com/go-resumer/resumer/wasm/store":    true,
	}
	// Functions of package time that read the clock or wait.
	clocks := map[string]bool{"Now": true, "Since": true, "Until": true, "Sleep": true, "After": true,
		"AfterFunc": true, "NewTimer": true, "NewTicker": true, "Tick": true}
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		checked++
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if !allowed[path] {
				t.Errorf("%s imports %s", name, path)
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if n == nil {
				return false
			}
			pos := fset.Position(n.Pos())
			switch n := n.(type) {
			case *ast.GoStmt:
				t.Errorf("%s: starts a goroutine", pos)
			case *ast.ChanType:
				t.Errorf("%s: a channel type", pos)
			case *ast.SendStmt:
				t.Errorf("%s: sends on a channel", pos)
			case *ast.SelectStmt:
				t.Errorf("%s: a select", pos)
			case *ast.UnaryExpr:
				if n.Op == token.ARROW {
					t.Errorf("%s: receives from a channel", pos)
				}
			case *ast.SelectorExpr:
				if pkg, ok := n.X.(*ast.Ident); ok {
					switch {
					case pkg.Name == "time" && clocks[n.Sel.Name]:
						t.Errorf("%s: reads the clock (time.%s)", pos, n.Sel.Name)
					case pkg.Name == "rand" && n.Sel.Name != "New" && n.Sel.Name != "NewPCG" && n.Sel.Name != "Rand":
						t.Errorf("%s: global randomness (rand.%s)", pos, n.Sel.Name)
					}
				}
			}
			return true
		})
	}
	if checked < 5 {
		t.Fatalf("checked %d session files; the session moved?", checked)
	}
}
