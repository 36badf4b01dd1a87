//go:build !js && !wasip1

package e2e

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/go-resumer/resumer/serve/drive"
)

// TestTransformers runs examples/transformers: transformers.js 4.3.2, from
// npm, loads a causal language model with resumer.fetch as its env.fetch.
// config.json and the ONNX weights come through resumer; the model has no
// generation_config.json, an optional config transformers.js reads while
// loading such a model: resumer.fetch resolves with the server's 404, as
// fetch() does, and the model loads without it (through resumer's old
// behaviour, a rejection, the load failed).
func TestTransformers(t *testing.T) {
	dir := examplesDir(t)
	models := t.TempDir()
	for name, body := range map[string][]byte{
		"tiny/config.json":     []byte(`{"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "vocab_size": 8, "n_embd": 4, "n_head": 1, "n_layer": 1, "n_positions": 16}`),
		"tiny/onnx/model.onnx": tinyONNX(),
	} {
		p := filepath.Join(models, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	host := serveDir(t, models, true) + "/"
	forEngines(t, func(t *testing.T, e drive.Engine) {
		app := serveDir(t, filepath.Join(dir, "transformers", "dist"), false)
		p := openBare(t, e, env.browsers[e], fmt.Sprintf("%s/?models=%s&model=tiny&db=e2e-tf-%s", app, host, testID(t)))
		type seen struct {
			URL    string `json:"url"`
			Status int    `json:"status"`
		}
		r := eval[struct {
			Model    string   `json:"model"`
			Sessions []string `json:"sessions"`
			Error    string   `json:"error"`
			Seen     []seen   `json:"seen"`
			Status   string   `json:"status"`
		}](p, `(async () => {
		  // The page says when it is done (or that it could not start).
		  const status = document.getElementById("status");
		  if (status.textContent === "Starting…") await new Promise((resolve, reject) => {
		    const seen = new MutationObserver(() => { seen.disconnect(); clearTimeout(timer); resolve(); });
		    seen.observe(status, { subtree: true, childList: true, characterData: true });
		    const timer = setTimeout(() => { seen.disconnect(); reject(new Error("the page still says " + status.textContent)); }, 60000);
		  });
		  return { ...(await (window.loaded ?? {})), status: status.textContent };
		})()`)
		got := map[string]int{}
		for _, s := range r.Seen {
			got[s.URL] = s.Status
		}
		want := map[string]int{host + "tiny/config.json": 200, host + "tiny/onnx/model.onnx": 200, host + "tiny/generation_config.json": 404}
		for u, status := range want {
			if got[u] != status {
				t.Errorf("resumer.fetch of %s: %d, want %d", u, got[u], status)
			}
		}
		if r.Error != "" || r.Model != "gpt2" || !slices.Contains(r.Sessions, "model") {
			t.Fatalf("the page says %q: model %q, sessions %v, error %q (files: %+v); want the gpt2 model loaded", r.Status, r.Model, r.Sessions, r.Error, r.Seen)
		}
	})
}

// tinyONNX is the smallest ONNX model transformers.js loads as a causal
// language model: one Identity node from input_ids ([batch, sequence],
// int64) to logits, opset 13, as protocol-buffer bytes (onnx.proto3:
// ModelProto, GraphProto, NodeProto, ValueInfoProto, TypeProto).
func tinyONNX() []byte {
	field := func(num int, payload []byte) []byte { // wire type 2: length-delimited
		b := binary.AppendUvarint(nil, uint64(num)<<3|2)
		b = binary.AppendUvarint(b, uint64(len(payload)))
		return append(b, payload...)
	}
	varint := func(num int, v uint64) []byte { // wire type 0
		return binary.AppendUvarint(binary.AppendUvarint(nil, uint64(num)<<3), v)
	}
	str := func(num int, s string) []byte { return field(num, []byte(s)) }
	cat := func(parts ...[]byte) []byte {
		var b []byte
		for _, p := range parts {
			b = append(b, p...)
		}
		return b
	}
	const int64Type = 7     // TensorProto.DataType INT64
	tensor := field(1, cat( // TypeProto.tensor_type
		varint(1, int64Type),
		field(2, cat(field(1, str(2, "batch")), field(1, str(2, "sequence")))), // shape: dim_param
	))
	value := func(name string) []byte { return cat(str(1, name), field(2, tensor)) }
	graph := cat(
		field(1, cat(str(1, "input_ids"), str(2, "logits"), str(3, "identity"), str(4, "Identity"))), // node
		str(2, "tiny"),
		field(11, value("input_ids")),
		field(12, value("logits")),
	)
	return cat(
		varint(1, 8), // ir_version
		str(2, "resumer e2e"),
		field(7, graph),
		field(8, varint(2, 13)), // opset_import: the default domain, version 13
	)
}
