//go:build !js && !wasip1

package bundle

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestGoGlue makes the module glue from this toolchain's wasm_exec.js: it
// must be a valid ES module (node checks it) that exports Go and sets no
// global.
func TestGoGlue(t *testing.T) {
	goroot, err := exec.Command(goTool(), "env", "GOROOT").Output()
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(goroot)), "lib", "wasm", "wasm_exec.js"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := GoGlue(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"globalThis.Go", "globalThis.fs =", "globalThis.process =", "globalThis.path ="} {
		if strings.Contains(string(out), bad) {
			t.Errorf("the glue still holds %q", bad)
		}
	}
	if !strings.Contains(string(out), "export { Go };") {
		t.Error("the glue exports no Go")
	}
	if _, err := GoGlue([]byte("globalThis.Go = class {}")); err == nil {
		t.Error("a glue GoGlue does not know was changed without a word")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("no node to check the module with")
	}
	f := filepath.Join(t.TempDir(), "resumer-go.mjs")
	if err := os.WriteFile(f, out, 0o644); err != nil {
		t.Fatal(err)
	}
	// Importing it defines the class and sets nothing on the global object.
	script := `const before = new Set(Object.getOwnPropertyNames(globalThis));
const m = await import(process.argv[1]);
const added = Object.getOwnPropertyNames(globalThis).filter((k) => !before.has(k));
if (typeof m.Go !== "function") throw new Error("no Go export");
const g = new m.Go();
if (!g.globals.fs || !g.globals.process) throw new Error("no fs/process for the program");
if (added.length) throw new Error("set globals: " + added.join(", "));`
	cmd := exec.Command(node, "--input-type=module", "-e", script, f)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("node: %v\n%s", err, b)
	}
}
