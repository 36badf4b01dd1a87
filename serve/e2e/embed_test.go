//go:build !js && !wasip1

package e2e

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/go-resumer/resumer/serve/drive"
)

// TestEmbed drives web/embed.html, the smallest page with a resumable
// download button: its button downloads the file of ?url=, a reload
// halfway continues by itself from the stored bytes, and the page then
// offers the file as a blob: link whose bytes are the server's.
func TestEmbed(t *testing.T) {
	forEngines(t, func(t *testing.T, e drive.Engine) {
		u := fileURL(t, medium, rate)
		d := openTab(t, e, "/embed.html?url="+url.QueryEscape(u))
		d.until(`!document.querySelector("#get").disabled`)
		if b := d.text("#get"); b != "Download medium.bin" {
			t.Errorf("the button says %q", b)
		}
		d.js(`(document.querySelector("#get").click(), true)`, nil)
		d.until(fmt.Sprintf(`document.querySelector("#bar").value >= %d`, mediumSize*3/10))
		d.reload()
		d.until(`!document.querySelector("#file").hidden`)
		var link struct {
			Href, Download, Text, SHA string
		}
		d.js(`(async () => { const a = document.querySelector("#file"); return { Href: a.href, Download: a.download, Text: a.textContent, SHA: await DT.shaOfURL(a.href) }; })()`, &link)
		if !strings.HasPrefix(link.Href, "blob:") || link.Download != "medium.bin" {
			t.Errorf("the page offers %+v, want a blob: link to download medium.bin", link)
		}
		if link.SHA != fileSHA(t, medium) {
			t.Errorf("the offered file has sha %s, want %s", link.SHA, fileSHA(t, medium))
		}
		if g := devReqs(gets(t, u, 2)); g[len(g)-1].Start == 0 || g[len(g)-1].IfRange == "" {
			t.Errorf("the page did not resume after the reload: %+v", g)
		}
		d.shot("embed")
	})
}
