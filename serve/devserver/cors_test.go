//go:build !js && !wasip1

package devserver

import (
	"net/http"
	"testing"
)

func TestCORS(t *testing.T) {
	t.Parallel()
	const origin = "http://other.test:8081"
	for _, tc := range []struct {
		name    string
		method  string
		query   string
		hdr     map[string]string
		status  int
		headers map[string]string
	}{
		{"GET: allow any origin, expose validators", http.MethodGet, "", nil, 200, map[string]string{
			"Access-Control-Allow-Origin":   "*",
			"Access-Control-Expose-Headers": exposeHeaders,
		}},
		{"GET cors=none: nothing", http.MethodGet, "cors=none", nil, 200, map[string]string{
			"Access-Control-Allow-Origin": "", "Access-Control-Expose-Headers": "",
		}},
		{"GET cors=noexpose: origin allowed, headers hidden", http.MethodGet, "cors=noexpose", nil, 200, map[string]string{
			"Access-Control-Allow-Origin": "*", "Access-Control-Expose-Headers": "",
		}},
		{"GET cors=noifrange: the GET itself is normal", http.MethodGet, "cors=noifrange", nil, 200, map[string]string{
			"Access-Control-Allow-Origin": "*", "Access-Control-Expose-Headers": exposeHeaders,
		}},
		{"preflight", http.MethodOptions, "", map[string]string{"Access-Control-Request-Headers": "if-range,range"}, 204, map[string]string{
			"Access-Control-Allow-Origin":  "*",
			"Access-Control-Allow-Headers": "Range, If-Range, If-Match, Authorization",
			"Access-Control-Allow-Methods": "GET, HEAD",
			"Access-Control-Max-Age":       "600",
		}},
		{"preflight cors=noifrange: Range only", http.MethodOptions, "cors=noifrange", map[string]string{"Access-Control-Request-Headers": "if-range,range"}, 204, map[string]string{
			"Access-Control-Allow-Origin":  "*",
			"Access-Control-Allow-Headers": "Range",
		}},
		{"preflight cors=none: fails", http.MethodOptions, "cors=none", map[string]string{"Access-Control-Request-Headers": "if-range"}, 204, map[string]string{
			"Access-Control-Allow-Origin": "", "Access-Control-Allow-Headers": "",
		}},
		{"errors carry CORS too", http.MethodGet, "status=503", nil, 503, map[string]string{
			"Access-Control-Allow-Origin": "*",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			hdr := map[string]string{"Origin": origin}
			if tc.method == http.MethodOptions {
				hdr["Access-Control-Request-Method"] = "GET"
			}
			for k, v := range tc.hdr {
				hdr[k] = v
			}
			target := "/files/a.bin"
			if tc.query != "" {
				target += "?" + tc.query
			}
			resp, _, err := e.do(t, tc.method, target, hdr)
			if err != nil {
				t.Fatalf("reading body: %v", err)
			}
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			checkHeaders(t, resp.Header, tc.headers)
			got := e.entries(t, 1)[0]
			if got.Method != tc.method || got.Origin != origin || got.ACRH != tc.hdr["Access-Control-Request-Headers"] || got.Status != tc.status {
				t.Errorf("log %s origin %q ACRH %q status %d, want %s %q %q %d",
					got.Method, got.Origin, got.ACRH, got.Status, tc.method, origin, tc.hdr["Access-Control-Request-Headers"], tc.status)
			}
		})
	}
}
