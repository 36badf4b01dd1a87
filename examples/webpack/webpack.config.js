import { fileURLToPath } from "node:url";
import HtmlWebpackPlugin from "html-webpack-plugin";

// webpack 5 needs nothing special for resumer: it emits resumer.wasm (from
// new URL("./resumer.wasm", import.meta.url)) and bundles the hashing
// worker (from new Worker(new URL(…), {type: "module"})) by itself.
export default {
  entry: "./src/index.js",
  output: {
    path: fileURLToPath(new URL("./dist", import.meta.url)),
    filename: "[name].[contenthash].js",
    clean: true,
  },
  plugins: [new HtmlWebpackPlugin({ template: "index.html" })],
  // index.js waits for the engine at its top level.
  experiments: { topLevelAwait: true },
  // resumer.wasm is about 1.3 MB compressed, more than webpack's advice.
  performance: { hints: false },
};
