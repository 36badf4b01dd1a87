//go:build !js

package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/go-resumer/resumer/serve/doctor"
	"github.com/go-resumer/resumer/serve/drive"
	"github.com/go-resumer/resumer/wasm/protocol"
)

// report is what resumer.check resolves with (resumer.d.ts CheckReport).
type report struct {
	URL      string          `json:"url"`
	Server   string          `json:"server"`
	Browser  string          `json:"browser"`
	IOS      bool            `json:"ios"`
	Findings []reportFinding `json:"findings"`
}

type reportFinding struct {
	ID      string   `json:"id"`
	Verdict string   `json:"verdict"`
	Text    string   `json:"text"`
	Proof   []string `json:"proof"`
	Fix     []struct {
		Server string `json:"server"`
	} `json:"fix"`
}

// find returns the finding id, the zero one if there is none.
func (r report) find(id string) reportFinding {
	for _, f := range r.Findings {
		if f.ID == id {
			return f
		}
	}
	return reportFinding{}
}

func (r report) verdicts() map[string]string {
	m := map[string]string{}
	for _, f := range r.Findings {
		m[f.ID] = f.Verdict
	}
	return m
}

// TestCheckInPage: resumer.check in the page reaches the verdict the
// terminal's check reaches for the same server, same-origin and from
// another origin (where the page's own CORS view is the truth, and the
// terminal's is its SeenFrom of the same answers).
func TestCheckInPage(t *testing.T) {
	forEngines(t, func(t *testing.T, e drive.Engine) {
		p := newPage(t, e, "/blank.html")
		for _, tt := range []struct {
			query string
			cross bool
			want  protocol.BrowserVerdict
			// blocks is the finding that must block, "" for none.
			blocks string
		}{
			{"", false, protocol.Resumable, ""},
			{"validators=none", false, protocol.NotResumable, protocol.FindingValidators},
			{"ranges=none", false, protocol.NotResumable, protocol.FindingRanges},
			{"cr=shift", false, protocol.NotResumable, protocol.FindingRanges},
			{"ifrange=ignore", false, protocol.Resumable, ""},
			{"status=404", false, protocol.NotChecked, protocol.FindingReachable},
			{"", true, protocol.Resumable, ""},
			{"cors=noexpose", true, protocol.NotResumable, protocol.FindingValidators},
			{"cors=noifrange", true, protocol.Resumable, ""},
		} {
			name := tt.query
			if tt.cross {
				name += " cross-origin"
			}
			t.Run(name, func(t *testing.T) {
				u := fileURL(t, small, tt.query)
				if tt.cross {
					u = strings.Replace(u, env.base, env.base2, 1)
				}
				got := eval[report](p, fmt.Sprintf(`R.check(%q)`, u))
				// The terminal's check of the same URL, as a page of this
				// page's origin would read the answers.
				cli, err := doctor.Check(context.Background(), u, doctor.Options{Origin: env.base})
				if err != nil {
					t.Fatal(err)
				}
				seen := cli.Answers
				if tt.cross {
					seen = protocol.SeenFrom(env.base, cli.Answers)
				}
				want := protocol.Diagnose(u, seen)
				if got.Browser != string(tt.want) || got.Browser != string(want.Browser) {
					t.Fatalf("page: %q, terminal as this page: %q; want %q\npage findings %v", got.Browser, want.Browser, tt.want, got.verdicts())
				}
				pv := got.verdicts()
				for _, f := range want.Findings {
					if v, ok := pv[f.ID]; ok && v != string(f.Verdict) {
						t.Errorf("finding %s: page %q, terminal %q (%s)", f.ID, v, f.Verdict, f.Text)
					}
				}
				if tt.blocks != "" && pv[tt.blocks] != "blocks" {
					t.Errorf("finding %s: %q, want blocks; %v", tt.blocks, pv[tt.blocks], pv)
				}
				for _, f := range got.Findings {
					if f.Verdict == "blocks" && f.ID != protocol.FindingReachable && len(f.Fix) == 0 {
						t.Errorf("finding %s blocks and names no fix", f.ID)
					}
				}
				if tt.blocks == protocol.FindingValidators && !tt.cross {
					// The app names its server: its fix comes first.
					named := eval[report](p, fmt.Sprintf(`R.check(%q, {server: "Caddy"})`, u))
					f := named.find(protocol.FindingValidators)
					if named.Server != protocol.ServerCaddy || len(f.Fix) < 2 || f.Fix[0].Server != protocol.ServerCaddy {
						t.Errorf("checked for Caddy: server %q, fixes %+v", named.Server, f.Fix)
					}
				}
				// The page's requests reached the server: a check is its
				// own requests, never a download.
				log := gets(t, u, 2)
				for _, g := range log {
					if g.Range == "bytes=0-65535" {
						t.Fatalf("the check sent a download's probe:\n%s", lines(log))
					}
				}
			})
		}
	})
}
