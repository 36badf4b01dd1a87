//go:build !js && !wasip1

package bundle

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestClassic links small modules into a classic script and runs it in
// node as a classic script (no import, no export allowed): imports,
// renamed imports, both export forms and import.meta.url work, and the
// one global holds the entry's exports only.
func TestClassic(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a.js", "export const A = 1;\nfunction hidden() { return 2; }\nexport function twice(x) { return x * hidden(); }\n")
	write("b.js", "import { A, twice as double } from \"./a.js\";\nclass B { v() { return double(A); } }\nexport { B };\nexport async function where() { return import.meta.url; }\n")
	// c.js is imported for its effect alone, and runs once, before entry.js.
	write("c.js", "self.ran = (self.ran || 0) + 1;\n")
	write("entry.js", "import \"./c.js\";\nimport { B } from \"./b.js\";\nimport { A } from \"./a.js\";\nexport const ranFirst = self.ran;\nexport const value = new B().v() + A;\nexport { B };\nimport { where } from \"./b.js\";\nexport const here = where;\n")
	out, err := Classic(dir, "entry.js", "linked")
	if err != nil {
		t.Fatal(err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("no node to run the script with")
	}
	f := filepath.Join(dir, "entry-classic.js")
	if err := os.WriteFile(f, out, 0o644); err != nil {
		t.Fatal(err)
	}
	// vm.runInThisContext runs it as a classic script would run: import or
	// export anywhere in it is a SyntaxError.
	script := `const vm = require("node:vm");
globalThis.self = globalThis;
self.location = { href: "https://x.test/sw/entry-classic.js?db=d" };
vm.runInThisContext(require("node:fs").readFileSync(process.argv[1], "utf8"));
const m = self.linked;
const keys = Object.keys(m).sort().join(",");
if (keys !== "B,here,ranFirst,value") throw new Error("exports " + keys);
if (m.value !== 3) throw new Error("value " + m.value);
if (m.ranFirst !== 1 || self.ran !== 1) throw new Error("c.js ran " + self.ran + " times, " + m.ranFirst + " before entry.js");
m.here().then((u) => { if (u !== self.location.href) throw new Error("import.meta.url " + u); console.log("ok"); });`
	b, err := exec.Command(node, "-e", script, f).CombinedOutput()
	if err != nil || strings.TrimSpace(string(b)) != "ok" {
		t.Fatalf("node: %v\n%s\n--- script:\n%s", err, b, out)
	}
}

// TestClassicRefuses: what the linker does not know is an error, never a
// script that half works.
func TestClassicRefuses(t *testing.T) {
	for _, src := range []string{
		"import x from \"./a.js\";\n",
		"import * as a from \"./a.js\";\n",
		"import { a } from \"https://cdn.test/a.js\";\n",
		"export default 1;\n",
		"export * from \"./a.js\";\n",
		"const m = await import(\"./a.js\");\n",
		"console.log(import.meta.resolve(\"./a.js\"));\n",
		"import { a } from \"./entry.js\";\nexport const b = a;\n", // a cycle
	} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "entry.js"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "a.js"), []byte("export const a = 1;\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := Classic(dir, "entry.js", "x"); err == nil {
			t.Errorf("linked %q:\n%s", src, out)
		}
	}
}
