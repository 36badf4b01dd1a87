package protocol

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"hash/crc32"
	"strings"
	"testing"
)

var (
	sumA256 = sha256.Sum256([]byte("a"))
	sumB256 = sha256.Sum256([]byte("b"))
	sumA384 = sha512.Sum384([]byte("a"))
	sumA512 = sha512.Sum512([]byte("a"))
	sumB512 = sha512.Sum512([]byte("b"))

	b64A256 = base64.StdEncoding.EncodeToString(sumA256[:])
	b64B256 = base64.StdEncoding.EncodeToString(sumB256[:])
	b64A384 = base64.StdEncoding.EncodeToString(sumA384[:])
	b64A512 = base64.StdEncoding.EncodeToString(sumA512[:])
	b64B512 = base64.StdEncoding.EncodeToString(sumB512[:])

	dA256 = Digest{AlgSHA256, sumA256[:]}
	dB256 = Digest{AlgSHA256, sumB256[:]}
	dA384 = Digest{AlgSHA384, sumA384[:]}
	dA512 = Digest{AlgSHA512, sumA512[:]}
	dB512 = Digest{AlgSHA512, sumB512[:]}
)

func TestParseIntegrity(t *testing.T) {
	tests := []struct {
		name, in string
		want     Digest
		err      string // a part of the error message; "" for none
	}{
		{"empty: no integrity asked", "", Digest{}, ""},
		{"only whitespace", " \t\n\r\f", Digest{}, ""},
		{"sha256", "sha256-" + b64A256, dA256, ""},
		{"sha384", "sha384-" + b64A384, dA384, ""},
		{"sha512", "sha512-" + b64A512, dA512, ""},
		{"padding left out", "sha256-" + strings.TrimRight(b64A256, "="), dA256, ""},
		{"sha512 without its two pad characters", "sha512-" + strings.TrimRight(b64A512, "="), dA512, ""},
		{"options ignored", "sha256-" + b64A256 + "?foo=bar?baz", dA256, ""},
		{"surrounding ASCII whitespace", "\n\t sha256-" + b64A256 + " \r\n", dA256, ""},
		{"strongest wins, any order", "sha512-" + b64A512 + " sha256-" + b64A256 + " sha384-" + b64A384, dA512, ""},
		{"strongest wins after weaker", "sha256-" + b64A256 + "\tsha384-" + b64A384, dA384, ""},
		{"unknown algorithms ignored", "md5-AAAA sha1-AAAA sha256-" + b64A256 + " sha3_256-x", dA256, ""},
		{"the same digest twice is one digest", "sha256-" + b64A256 + " sha256-" + strings.TrimRight(b64A256, "=") + "?x", dA256, ""},
		{"two different weaker digests are outranked", "sha256-" + b64A256 + " sha256-" + b64B256 + " sha512-" + b64A512, dA512, ""},
		{"two different strongest digests", "sha512-" + b64A512 + " sha512-" + b64B512, Digest{}, "several different sha512 digests"},
		{"two different strongest after a weaker", "sha256-" + b64A256 + " sha512-" + b64A512 + " sha512-" + b64B512, Digest{}, "resumer checks a file against one digest"},
		{"no supported algorithm", "md5-AAAA sha1-BBBB", Digest{}, `no supported hash algorithm among "md5", "sha1"`},
		{"no dash", "sha256", Digest{}, "0 bytes long"},
		{"upper-case algorithm is unknown", "SHA256-" + b64A256, Digest{}, `among "SHA256"`},
		{"non-breaking space does not separate", "sha256-" + b64A256 + "\u00a0sha512-" + b64A512, Digest{}, "not base64"},
		{"base64url refused", "sha256-" + strings.NewReplacer("+", "-", "/", "_").Replace(base64.StdEncoding.EncodeToString([]byte(strings.Repeat("\xfb\xff", 16)))), Digest{}, "not base64"},
		{"wrong padding", "sha512-" + strings.TrimRight(b64A512, "=") + "=", Digest{}, "not base64"},
		{"too much padding", "sha256-" + b64A256 + "=", Digest{}, "not base64"},
		{"non-zero pad bits", "sha256-" + setPadBit(b64A256), Digest{}, "not base64"},
		{"wrong length", "sha256-" + b64A512, Digest{}, "64 bytes long, a sha256 digest is 32"},
		{"a bad weaker digest is still an error", "sha256-AAAA sha512-" + b64A512, Digest{}, "3 bytes long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseIntegrity(tt.in)
			if tt.err == "" {
				if err != nil || !got.Equal(tt.want) {
					t.Fatalf("ParseIntegrity(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
				}
				return
			}
			if err == nil || !errors.Is(err, ErrBadIntegrity) || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("ParseIntegrity(%q) = %v, %v; want an ErrBadIntegrity saying %q", tt.in, got, err, tt.err)
			}
			if !got.Empty() {
				t.Fatalf("a digest with an error: %v", got)
			}
		})
	}
}

// setPadBit returns padded base64 of a length not a multiple of 3 with one of
// the bits after the last byte set (RFC 4648 §3.5), which a canonical
// encoder leaves at zero.
func setPadBit(b64 string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	body := strings.TrimRight(b64, "=")
	last := strings.IndexByte(alphabet, body[len(body)-1])
	return body[:len(body)-1] + string(alphabet[last|1]) + b64[len(body):]
}

func TestDigestString(t *testing.T) {
	tests := []struct {
		d    Digest
		want string
	}{
		{Digest{}, ""},
		{dA256, "sha256-" + b64A256},
		{dA384, "sha384-" + b64A384},
		{dA512, "sha512-" + b64A512},
	}
	for _, tt := range tests {
		if field := tt.d.Field(); (field == "") != tt.d.Empty() {
			t.Errorf("%v.Field() = %q", tt.d, field)
		} else if back, ok := ParseDigestField(field); tt.d.Alg != AlgSHA384 && (ok == tt.d.Empty() || !back.Equal(tt.d)) {
			t.Errorf("ParseDigestField(%q) = %v, %v", field, back, ok)
		}
		if got := tt.d.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.d, got, tt.want)
		}
		back, err := ParseIntegrity(tt.d.String())
		if err != nil || !back.Equal(tt.d) {
			t.Errorf("ParseIntegrity(%q) = %v, %v", tt.d.String(), back, err)
		}
	}
}

func TestDigestEqual(t *testing.T) {
	tests := []struct {
		a, b Digest
		want bool
	}{
		{Digest{}, Digest{}, true},
		{dA256, dA256, true},
		{dA256, Digest{AlgSHA256, append([]byte(nil), sumA256[:]...)}, true},
		{dA256, dB256, false},
		{dA256, Digest{}, false},
		{dA256, Digest{AlgSHA512, sumA256[:]}, false},
		{dA512, Digest{AlgSHA512, sumA512[:32]}, false},
	}
	for _, tt := range tests {
		if got := tt.a.Equal(tt.b); got != tt.want {
			t.Errorf("%v.Equal(%v) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
		if got := tt.b.Equal(tt.a); got != tt.want {
			t.Errorf("%v.Equal(%v) = %v, want %v", tt.b, tt.a, got, tt.want)
		}
	}
	if !(Digest{}).Empty() || dA256.Empty() {
		t.Error("Empty is wrong")
	}
}

func TestNewHash(t *testing.T) {
	for _, tt := range []struct {
		alg  string
		want Digest
	}{{AlgSHA256, dA256}, {AlgSHA384, dA384}, {AlgSHA512, dA512}} {
		h, err := NewHash(tt.alg)
		if err != nil {
			t.Fatalf("NewHash(%q): %v", tt.alg, err)
		}
		h.Write([]byte("a"))
		if got := (Digest{tt.alg, h.Sum(nil)}); !got.Equal(tt.want) {
			t.Errorf("NewHash(%q) hashes to %v, want %v", tt.alg, got, tt.want)
		}
	}
	for _, alg := range []string{"", "sha256", "SHA-256", "md5", "sha-1"} {
		if _, err := NewHash(alg); !errors.Is(err, ErrUnsupportedHash) {
			t.Errorf("NewHash(%q) = %v, want ErrUnsupportedHash", alg, err)
		}
	}
}

// TestHashResume checks what a reload relies on: hashing a, saving the
// state, restoring it in a new hash and hashing b gives the hash of a+b.
func TestHashResume(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 1000)
	for _, alg := range []string{AlgSHA256, AlgSHA384, AlgSHA512} {
		for _, cut := range []int{0, 1, 63, 64, 65, 127, 128, 129, 5000, len(big)} {
			a, b := big[:cut], big[cut:]
			h, _ := NewHash(alg)
			h.Write(a)
			state, err := MarshalHash(h)
			if err != nil {
				t.Fatalf("%s: MarshalHash: %v", alg, err)
			}
			h.Write([]byte("written after the save, lost with the page"))
			r, err := RestoreHash(alg, state)
			if err != nil {
				t.Fatalf("%s: RestoreHash: %v", alg, err)
			}
			r.Write(b)
			one, _ := NewHash(alg)
			one.Write(big)
			if !bytes.Equal(r.Sum(nil), one.Sum(nil)) {
				t.Errorf("%s cut at %d: resumed hash differs from one pass", alg, cut)
			}
		}
	}
}

func TestRestoreHashErrors(t *testing.T) {
	h384, _ := NewHash(AlgSHA384)
	h384.Write([]byte("a"))
	s384, _ := MarshalHash(h384)
	h256, _ := NewHash(AlgSHA256)
	s256, _ := MarshalHash(h256)
	tests := []struct {
		name, alg string
		state     []byte
	}{
		{"sha-384 state as sha-512", AlgSHA512, s384},
		{"sha-256 state as sha-512", AlgSHA512, s256},
		{"truncated", AlgSHA256, s256[:len(s256)-1]},
		{"empty", AlgSHA256, nil},
		{"unknown algorithm", "md5", s256},
	}
	for _, tt := range tests {
		if h, err := RestoreHash(tt.alg, tt.state); err == nil {
			t.Errorf("%s: RestoreHash gave %T and no error", tt.name, h)
		}
	}
	if _, err := MarshalHash(crc32.NewIEEE()); err != nil {
		t.Errorf("crc32 is a BinaryMarshaler too: %v", err)
	}
	if _, err := MarshalHash(noState{}); err == nil {
		t.Error("MarshalHash of a hash without state gave no error")
	}
}

// noState is a hash.Hash that cannot save its state.
type noState struct{}

func (noState) Write(p []byte) (int, error) { return len(p), nil }
func (noState) Sum(b []byte) []byte         { return b }
func (noState) Reset()                      {}
func (noState) Size() int                   { return 0 }
func (noState) BlockSize() int              { return 1 }

func TestParseDigestField(t *testing.T) {
	s256 := ":" + b64A256 + ":"
	s512 := ":" + b64A512 + ":"
	tests := []struct {
		name, in string
		want     Digest // the zero Digest: ok false
	}{
		{"sha-256", "sha-256=" + s256, dA256},
		{"sha-512", "sha-512=" + s512, dA512},
		{"sha-256 is checked when both come", "sha-256=" + s256 + ", sha-512=" + s512, dA256},
		{"sha-256 is checked, either order", "sha-512=" + s512 + ",sha-256=" + s256, dA256},
		{"sha-512 alone", "md5=:rL0Y20zC+Fzt72VPzMSk2A==:, sha-512=" + s512, dA512},
		{"RFC 9530 §3 example shape", "sha-512=:" + b64B512 + ":", dB512},
		{"parameters allowed", "sha-256=" + s256 + ";foo=bar;q=0.5, sha-512=" + s512 + ";x", dA256},
		{"parameters allowed on sha-512", "sha-512=" + s512 + ";x;y=1", dA512},
		{"parameter with space after ;", "sha-256=" + s256 + "; foo=?1", dA256},
		{"OWS around commas, tabs included", "md5=:rL0Y20zC+Fzt72VPzMSk2A==: \t,\t sha-512=" + s512, dA512},
		{"surrounding whitespace", " \tsha-256=" + s256 + "  ", dA256},
		{"insecure algorithms ignored", "md5=:rL0Y20zC+Fzt72VPzMSk2A==:, sha=:hvfkN/qlp/zhXR3cuerq6jd2Z7g=:, sha-256=" + s256, dA256},
		{"unixsum and crc32c ignored", "unixsum=30637, crc32c=:AAAAAA==:", Digest{}},
		{"sha-384 is not registered", "sha-384=:" + b64A384 + ":", Digest{}},
		{"missing padding accepted", "sha-256=:" + strings.TrimRight(b64A256, "=") + ":", dA256},
		{"non-zero pad bits accepted", "sha-256=:" + setPadBit(b64A256) + ":", dA256},
		{"wrong length makes the member unusable", "sha-512=:" + b64A256 + ":, sha-256=" + s256, dA256},
		{"wrong length alone", "sha-256=" + s512, Digest{}},
		{"a token value is unusable", "sha-512=abc, sha-256=" + s256, dA256},
		{"a string value is unusable", `sha-256="` + b64A256 + `"`, Digest{}},
		{"an integer value is unusable", "sha-256=12", Digest{}},
		{"an inner list is unusable", "sha-256=(" + s256 + "), sha-512=" + s512, dA512},
		{"a boolean member is unusable", "sha-256;x=1", Digest{}},
		{"a repeated key keeps its last value", "sha-256=" + s256 + ", sha-256=:" + b64B256 + ":", dB256},
		{"a repeated key's last value decides, even unusable", "sha-256=" + s256 + ", sha-256=?1", Digest{}},
		{"other members of any type are skipped", `a=1, b=-2.5, c="x\"y", d=tok/en:1, e=?0, f=(1 "s" :AA==: ?1);p=1, *g, sha-256=` + s256, dA256},
		{"empty field", "", Digest{}},
		{"upper-case key is malformed", "SHA-256=" + s256, Digest{}},
		{"malformed field ignored as a whole", "sha-256=" + s256 + ", 1bad=:AA==:", Digest{}},
		{"trailing comma", "sha-256=" + s256 + ",", Digest{}},
		{"leading comma", ",sha-256=" + s256, Digest{}},
		{"empty member", "sha-256=" + s256 + ",,sha-512=" + s512, Digest{}},
		{"no comma between members", "sha-256=" + s256 + " sha-512=" + s512, Digest{}},
		{"space before =", "sha-256 =" + s256, Digest{}},
		{"space after =", "sha-256= " + s256, Digest{}},
		{"unterminated byte sequence", "sha-256=:" + b64A256, Digest{}},
		{"base64url in a byte sequence", "sha-256=:ab-_:", Digest{}},
		{"newline in a byte sequence", "sha-256=:" + b64A256[:20] + "\n" + b64A256[20:] + ":", Digest{}},
		{"= inside base64", "sha-256=:ab=c:", Digest{}},
		{"three pad characters", "sha-256=:YQ===:", Digest{}},
		{"bad boolean", "a=?2, sha-256=" + s256, Digest{}},
		{"bad escape in string", `a="\x", sha-256=` + s256, Digest{}},
		{"control character in string", "a=\"\t\", sha-256=" + s256, Digest{}},
		{"unterminated string", `a="x, sha-256=` + s256, Digest{}},
		{"integer of 16 digits", "a=1234567890123456, sha-256=" + s256, Digest{}},
		{"integer of 15 digits", "a=-123456789012345, sha-256=" + s256, dA256},
		{"decimal with 4 fraction digits", "a=1.2345, sha-256=" + s256, Digest{}},
		{"decimal of 13 integer digits", "a=1234567890123.1, sha-256=" + s256, Digest{}},
		{"decimal of 12+3 digits", "a=123456789012.123, sha-256=" + s256, dA256},
		{"decimal ending in a dot", "a=1., sha-256=" + s256, Digest{}},
		{"lone minus", "a=-, sha-256=" + s256, Digest{}},
		{"inner list unterminated", "a=(1 2, sha-256=" + s256, Digest{}},
		{"inner list items without space", "a=(1\"x\"), sha-256=" + s256, Digest{}},
		{"RFC 9651 date is not RFC 8941", "a=@1659578233, sha-256=" + s256, Digest{}},
		{"over 8 KiB", "sha-256=" + s256 + ", pad=\"" + strings.Repeat("x", MaxDigestFieldLen) + "\"", Digest{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ParseDigestField(tt.in)
			if ok != !tt.want.Empty() || !got.Equal(tt.want) {
				t.Fatalf("ParseDigestField(%q) = %v, %v; want %v", tt.in, got, ok, tt.want)
			}
		})
	}
}

// TestParseDictionaryMembers checks that the dictionary parser hands over
// every member, in order, and recognizes byte sequences only.
func TestParseDictionaryMembers(t *testing.T) {
	var got []string
	ok := parseDictionary(`a=:AQID:, b, c=?1;d=:AA==:, e=(:AA==:), f=:: `, func(key string, seq []byte, isSeq bool) {
		s := key
		if isSeq {
			s += "=" + base64.StdEncoding.EncodeToString(seq)
		}
		got = append(got, s)
	})
	want := "a=AQID b c e f="
	if !ok || strings.Join(got, " ") != want {
		t.Fatalf("members %q, %v; want %q", got, ok, want)
	}
}

// TestFileDigest: a digest is taken only where the bytes fetch hands over
// are the ones it covers.
func TestFileDigest(t *testing.T) {
	const repr = "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:"
	for _, tt := range []struct {
		name  string
		resp  Response
		field string // "" for none
	}{
		{"Repr-Digest on a 200", Response{Status: 200, ReprDigest: repr}, "Repr-Digest"},
		{"Repr-Digest on a 206", Response{Status: 206, ReprDigest: repr}, "Repr-Digest"},
		{"Content-Digest on a 200", Response{Status: 200, ContentDigest: repr}, "Content-Digest"},
		{"Content-Digest on a 206: of the part", Response{Status: 206, ContentDigest: repr}, ""},
		{"gzip: the digest covers bytes fetch decodes", Response{Status: 200, ContentEncoding: "gzip", ReprDigest: repr}, ""},
		{"identity is no coding", Response{Status: 200, ContentEncoding: "identity", ReprDigest: repr}, "Repr-Digest"},
		{"cross-origin 200: a coding may be hidden", Response{Status: 200, CrossOrigin: true, ReprDigest: repr}, ""},
		{"cross-origin 206: never coded", Response{Status: 206, CrossOrigin: true, ReprDigest: repr}, "Repr-Digest"},
	} {
		_, field, ok := tt.resp.FileDigest()
		if field != tt.field || ok != (tt.field != "") {
			t.Errorf("%s: field %q, ok %v; want %q", tt.name, field, ok, tt.field)
		}
	}
}
