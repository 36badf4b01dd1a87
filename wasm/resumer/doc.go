// Package resumer is the download engine: it drives one download per URL
// through the state machine of package protocol, asks a Fetcher for byte
// ranges, stores each piece in a store.Store as it arrives, and hands back the
// finished file as one Blob.
//
// The engine is plain Go. In the browser, package browser gives it a Fetcher
// built on fetch() and an IndexedDB store; in native tests it runs against
// net/http and memstore, so every path, faults included, is tested without a
// browser.
//
// A Go program compiled to js/wasm uses it through browser.Open:
//
//	m, err := browser.Open(ctx, "resumer")
//	d, err := m.Download("https://example.com/big.iso", resumer.Options{})
//	res, err := d.Wait(ctx) // res.Blob is the whole file
package resumer
