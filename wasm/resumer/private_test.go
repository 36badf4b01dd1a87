//go:build !js

package resumer_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/go-resumer/resumer/serve/devserver"
	"github.com/go-resumer/resumer/wasm/protocol"
	"github.com/go-resumer/resumer/wasm/resumer"
	"github.com/go-resumer/resumer/wasm/resumer/platform"
	"github.com/go-resumer/resumer/wasm/store"
)

// TestPrivateFiles: a download made with credentials is answered from
// storage only to a caller that brings the same ones, in this session and
// the next; never to one without credentials (a Service Worker, a cache
// lookup) or with others; its credentials are nowhere in the store; a
// download with other credentials fetches the file again rather than
// joining or answering the stored bytes.
func TestPrivateFiles(t *testing.T) {
	f := newFixture(t)
	m := f.manager()
	ctx := context.Background()
	url := f.url + f.name
	alice := map[string]string{"Authorization": "Bearer alice-token-1234"}
	bob := map[string]string{"Authorization": "Bearer bob-token-5678"}
	// Until Bob's turn, the server answers only Alice (401 otherwise).
	f.arm(devserver.MaxArmTimes, "auth=alice-token-1234")
	res, err := f.download(m, url, resumer.Options{Header: alice})
	mustOK(t, f, res, err)

	serves := func(m *resumer.Manager, key string, who resumer.Caller) bool {
		t.Helper()
		s, err := m.Serve(ctx, key, protocol.ServeRequest{}, who)
		switch {
		case err == nil && s.Status == 200:
			return true
		case resumer.CodeOf(err) == resumer.CodeNotFound:
			return false
		}
		t.Fatalf("Serve(%s, %+v): %d, %v", key, who, s.Status, err)
		return false
	}
	for _, tt := range []struct {
		name string
		who  resumer.Caller
		want bool
	}{
		{"the same credentials", resumer.Caller{Header: alice}, true},
		{"the same, the name in another case, with a header that is none", resumer.Caller{Header: map[string]string{"authorization": "Bearer alice-token-1234", "Accept": "*/*"}}, true},
		{"none (a Service Worker, a cache lookup)", resumer.Caller{}, false},
		{"others", resumer.Caller{Header: bob}, false},
		{"the same header and cookies too", resumer.Caller{Header: alice, Credentials: "include"}, false},
		{"cookies only", resumer.Caller{Credentials: "include"}, false},
	} {
		if got := serves(m, url, tt.who); got != tt.want {
			t.Errorf("%s: served %v, want %v", tt.name, got, tt.want)
		}
	}

	rec, err := f.st.Get(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(rec.Owner, store.OwnerPrefix) || rec.Check() != nil {
		t.Fatalf("record owner %q (check %v), want a keyed hash", rec.Owner, rec.Check())
	}
	if all := fmt.Sprintf("%+v", rec); strings.Contains(all, "alice-token") {
		t.Fatalf("the credentials are stored in clear: %s", all)
	}
	list, err := m.List(ctx)
	if err != nil || len(list) != 1 || !list[0].Private {
		t.Fatalf("List: %+v, %v; want one private download", list, err)
	}

	// The next session (a reload: another Manager on the same store)
	// knows the same credentials.
	again := f.manager()
	if !serves(again, url, resumer.Caller{Header: alice}) {
		t.Fatal("after a reload, the same credentials are not answered")
	}

	// Eve, whom the server refuses, takes nothing from Alice: not as
	// fetch() (FirstAnswer), not as a download that fails.
	for _, o := range []resumer.Options{{Header: bob, FirstAnswer: true}, {Header: bob}} {
		res, err := f.download(again, url, o)
		if resumer.CodeOf(err) != resumer.CodeHTTPStatus {
			t.Fatalf("a refused caller (FirstAnswer %v): %+v, %v; want %s", o.FirstAnswer, res, err, resumer.CodeHTTPStatus)
		}
		if !serves(again, url, resumer.Caller{Header: alice}) {
			t.Fatalf("after a refused caller (FirstAnswer %v), Alice's file is not answered", o.FirstAnswer)
		}
		if list, _ := again.List(ctx); len(list) != 1 || list[0].State != protocol.Done || !list[0].Private {
			t.Fatalf("after a refused caller: %+v; want Alice's private file, done", list)
		}
	}

	// Another user's download of the same file does not take Alice's
	// bytes: it fetches the whole file, says why, and then answers Bob,
	// not Alice.
	f.srv.Disarm()
	before := len(f.gets())
	w := newWatch()
	d, err := again.Download(url, w.opts(resumer.Options{Header: bob}))
	if err != nil {
		t.Fatal(err)
	}
	res, err = wait(t, d)
	mustOK(t, f, res, err)
	got := f.gets(before + 1)[before:]
	var sent int64
	for _, e := range got {
		sent += e.Sent
	}
	if got[0].Start != 0 || got[0].IfRange != "" || sent != size {
		t.Fatalf("Bob's download sent %d bytes, want the whole file from byte 0 with no If-Range: %+v", sent, got)
	}
	if codes := w.noticeCodes(); !contains(codes, resumer.NoticeOtherCredentials) {
		t.Fatalf("notice codes %v, want %q", codes, resumer.NoticeOtherCredentials)
	}
	if serves(again, url, resumer.Caller{Header: alice}) || !serves(again, url, resumer.Caller{Header: bob}) {
		t.Fatal("after Bob's download, Alice is answered or Bob is not")
	}
	// A file stored with no credentials is not the answer to a request
	// that brings some (the server may answer that one otherwise).
	pub := f.url + f.name + "?public"
	res, err = f.download(again, pub, fast)
	mustOK(t, f, res, err)
	if !serves(again, pub, resumer.Caller{}) || serves(again, pub, resumer.Caller{Header: bob}) {
		t.Fatal("a public file: not answered without credentials, or answered with them")
	}
}

// TestPrivateNotJoined: a running download is joined only by a caller
// with its credentials; another is told it is locked, and changes nothing.
func TestPrivateNotJoined(t *testing.T) {
	f := newFixture(t)
	m := f.manager()
	url := f.url + f.name + "?rate=262144"
	alice := map[string]string{"X-Api-Key": "alice"}
	w := newWatch()
	d, err := m.Download(url, w.opts(resumer.Options{Header: alice}))
	if err != nil {
		t.Fatal(err)
	}
	w.until(t, "running", func(p resumer.Progress) bool { return p.State == protocol.Running })
	if _, err := m.Download(url, resumer.Options{Header: map[string]string{"X-Api-Key": "bob"}}); resumer.CodeOf(err) != resumer.CodeLocked {
		t.Fatalf("Bob joins Alice's running download: %v, want %s", err, resumer.CodeLocked)
	}
	if _, err := m.Download(url, resumer.Options{}); resumer.CodeOf(err) != resumer.CodeLocked {
		t.Fatalf("a caller without credentials joins Alice's running download: %v, want %s", err, resumer.CodeLocked)
	}
	same, err := m.Download(url, resumer.Options{Header: map[string]string{"x-api-key": "alice"}})
	if err != nil || same != d {
		t.Fatalf("Alice's second call: %v, %v; want her running download", same, err)
	}
	d.Resume()
	res, err := wait(t, d)
	mustOK(t, f, res, err)
}

// TestPrivateCancelKeepsOwner: a caller with other credentials who cancels
// before the server has answered deletes nothing of the owner's file.
func TestPrivateCancelKeepsOwner(t *testing.T) {
	f := newFixture(t)
	url := f.url + f.name
	alice := resumer.Caller{Header: map[string]string{"Authorization": "Bearer alice"}}
	res, err := f.download(f.manager(), url, resumer.Options{Header: alice.Header})
	mustOK(t, f, res, err)
	asked := make(chan struct{}, 1)
	hang := &memNet{fetch: func(ctx context.Context, n int, req platform.Request) (*platform.Response, error) {
		select {
		case asked <- struct{}{}:
		default:
		}
		<-ctx.Done()
		return nil, ctx.Err()
	}}
	m := resumer.NewManager(f.st, hang)
	d, err := m.Download(url, resumer.Options{Header: map[string]string{"Authorization": "Bearer bob"}})
	if err != nil {
		t.Fatal(err)
	}
	<-asked
	d.Cancel()
	if _, err := wait(t, d); resumer.CodeOf(err) != resumer.CodeAborted {
		t.Fatalf("Bob's canceled download: %v, want %s", err, resumer.CodeAborted)
	}
	if _, err := m.Serve(context.Background(), url, protocol.ServeRequest{}, alice); err != nil {
		t.Fatalf("Alice's file after Bob canceled: %v", err)
	}
}
