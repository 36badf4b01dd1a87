import { defineConfig } from "vite";

export default defineConfig({
  // Relative asset URLs: the build works from any path of any host.
  base: "./",
  // main.js waits for the engine at its top level.
  build: { target: "es2022" },
  // Vite's dev server pre-bundles dependencies into .vite/deps, away from
  // the resumer.wasm and worker that resumer.js finds next to itself.
  optimizeDeps: { exclude: ["@go-resumer/resumer"] },
});
