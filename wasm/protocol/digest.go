package protocol

import (
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"
)

// Hash algorithm names, as the Hash Algorithms for HTTP Digest Fields
// registry of RFC 9530 §7.2 spells them. "sha-384" is not in that registry;
// it is named the same way for Subresource Integrity's sha384.
const (
	AlgSHA256 = "sha-256"
	AlgSHA384 = "sha-384"
	AlgSHA512 = "sha-512"
)

// algorithm is one hash function resumer can check a file against.
type algorithm struct {
	name string // RFC 9530 name
	sri  string // Subresource Integrity name (W3C SRI §3.2)
	size int    // digest length in bytes
	new  func() hash.Hash
}

// algorithms are ordered from the weakest to the strongest: the index is
// the rank that decides which of several digests counts (SRI §3.3.4 "Get
// the strongest metadata from set").
var algorithms = [...]algorithm{
	{AlgSHA256, "sha256", sha256.Size, sha256.New},
	{AlgSHA384, "sha384", sha512.Size384, sha512.New384},
	{AlgSHA512, "sha512", sha512.Size, sha512.New},
}

// lookupAlg returns the rank of the algorithm of RFC 9530 name alg.
func lookupAlg(alg string) (int, bool) {
	for i, a := range algorithms {
		if a.name == alg {
			return i, true
		}
	}
	return 0, false
}

// ErrBadIntegrity reports integrity metadata that cannot be checked: a
// malformed digest, several different digests of the strongest algorithm,
// or no supported algorithm at all. The error returned wraps it with the
// details.
var ErrBadIntegrity = errors.New("invalid integrity metadata")

// ErrUnsupportedHash reports a hash algorithm that NewHash does not know.
var ErrUnsupportedHash = errors.New("unsupported hash algorithm")

// Digest is the expected hash of a whole file: from the integrity option
// (ParseIntegrity) or a server's Repr-Digest (ParseDigestField). The zero
// Digest asks for no check.
type Digest struct {
	// Alg is the RFC 9530 name: AlgSHA256, AlgSHA384 or AlgSHA512.
	Alg string
	// Sum is the raw digest, Size bytes long for Alg.
	Sum []byte
}

// Empty reports whether d asks for no check.
func (d Digest) Empty() bool { return d.Alg == "" && len(d.Sum) == 0 }

// Equal reports whether d and o name the same algorithm and the same sum.
// The sums are compared in constant time: not needed for a file's digest,
// but it costs nothing.
func (d Digest) Equal(o Digest) bool {
	return d.Alg == o.Alg && len(d.Sum) == len(o.Sum) && subtle.ConstantTimeCompare(d.Sum, o.Sum) == 1
}

// String returns d in Subresource Integrity form, "sha256-BASE64" with
// standard, padded base64 (W3C SRI §3.5, RFC 4648 §4), which
// ParseIntegrity reads back; "" for the zero Digest.
func (d Digest) String() string {
	if d.Empty() {
		return ""
	}
	name := strings.ReplaceAll(d.Alg, "-", "")
	if i, ok := lookupAlg(d.Alg); ok {
		name = algorithms[i].sri
	}
	return name + "-" + base64.StdEncoding.EncodeToString(d.Sum)
}

// Field returns d as a member of a Repr-Digest or Content-Digest field
// (RFC 9530 §3, §2): "sha-256=:BASE64:", an RFC 8941 §3.3.5 byte sequence,
// which ParseDigestField reads back for sha-256 and sha-512; "" for the
// zero Digest.
func (d Digest) Field() string {
	if d.Empty() {
		return ""
	}
	return d.Alg + "=:" + base64.StdEncoding.EncodeToString(d.Sum) + ":"
}

// ParseIntegrity parses a Subresource Integrity metadata list (W3C SRI
// §3.3.3 "Parse metadata"), e.g. "sha384-BASE64 sha512-BASE64?opt":
// hash expressions separated by ASCII whitespace, each an algorithm
// ("sha256", "sha384" or "sha512", lower case as SRI spells them), a "-" and
// the base64 digest, optionally followed by "?" and options, which are
// ignored. Expressions of other algorithms are ignored, as SRI asks; of the
// supported ones the strongest counts (SRI §3.3.4: sha512 > sha384 > sha256).
//
// Where SRI is silent or lenient, ParseIntegrity is strict, because the
// value comes from the application, not from a server, and a typo would
// otherwise reject every download as a mismatch, or check nothing:
//   - The digest of a supported algorithm must be base64 of RFC 4648 §4
//     (not base64url), its padding may be left out but not be wrong, and it
//     must decode to the algorithm's length; else an error, even for an
//     expression that a stronger one outranks.
//   - SRI accepts a resource that matches any one of several digests of the
//     strongest algorithm. resumer checks one file against one digest, so
//     several different digests of the strongest algorithm are an error
//     (repeating the same one is not): picking one would reject a file that
//     matches another.
//   - A non-empty list with no supported algorithm is an error that names
//     the ones given; SRI would check nothing.
//
// An empty or all-whitespace string gives the zero Digest and no error: no
// integrity asked.
func ParseIntegrity(s string) (Digest, error) {
	var (
		best     Digest
		bestRank = -1
		conflict bool
		unknown  []string
	)
	for _, item := range splitASCIIWhitespace(s) {
		expr, _, _ := strings.Cut(item, "?")
		name, b64, _ := strings.Cut(expr, "-")
		rank := -1
		for i, a := range algorithms {
			if a.sri == name {
				rank = i
			}
		}
		if rank < 0 {
			unknown = append(unknown, strconv.Quote(name))
			continue
		}
		a := algorithms[rank]
		sum, err := decodeBase64(b64)
		if err != nil {
			return Digest{}, fmt.Errorf("%w: the %s digest %q is not base64 (RFC 4648 §4)", ErrBadIntegrity, name, b64)
		}
		if len(sum) != a.size {
			return Digest{}, fmt.Errorf("%w: the %s digest %q is %d bytes long, a %s digest is %d", ErrBadIntegrity, name, b64, len(sum), name, a.size)
		}
		d := Digest{Alg: a.name, Sum: sum}
		switch {
		case rank > bestRank:
			best, bestRank, conflict = d, rank, false
		case rank == bestRank && !best.Equal(d):
			conflict = true
		}
	}
	switch {
	case conflict:
		return Digest{}, fmt.Errorf("%w: several different %s digests; resumer checks a file against one digest, give only the one it must match",
			ErrBadIntegrity, algorithms[bestRank].sri)
	case bestRank >= 0:
		return best, nil
	case len(unknown) > 0:
		return Digest{}, fmt.Errorf("%w: no supported hash algorithm among %s (supported: sha256, sha384, sha512)",
			ErrBadIntegrity, strings.Join(unknown, ", "))
	}
	return Digest{}, nil
}

// splitASCIIWhitespace splits s on runs of ASCII whitespace (TAB, LF, FF,
// CR, SPACE: WHATWG Infra §4.7), which is what SRI splits on; unlike
// strings.Fields it does not split on other Unicode spaces.
func splitASCIIWhitespace(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool {
		return r == '\t' || r == '\n' || r == '\f' || r == '\r' || r == ' '
	})
}

// decodeBase64 decodes base64 of RFC 4648 §4 with its padding either
// correct or absent. It is strict about the bits after the last full byte
// (RFC 4648 §3.5), so that a Digest prints back to what was parsed.
func decodeBase64(s string) ([]byte, error) {
	// The decoder skips CR and LF; none can be inside a whitespace-split
	// item, but refuse them anyway rather than depend on that.
	if strings.ContainsAny(s, "\r\n") {
		return nil, base64.CorruptInputError(strings.IndexAny(s, "\r\n"))
	}
	if strings.HasSuffix(s, "=") {
		return base64.StdEncoding.Strict().DecodeString(s)
	}
	return base64.RawStdEncoding.Strict().DecodeString(s)
}

// NewHash returns a new hash of the RFC 9530 algorithm name alg: AlgSHA256,
// AlgSHA384 or AlgSHA512.
func NewHash(alg string) (hash.Hash, error) {
	i, ok := lookupAlg(alg)
	if !ok {
		return nil, fmt.Errorf("%w %q (supported: %s, %s, %s)", ErrUnsupportedHash, alg, AlgSHA256, AlgSHA384, AlgSHA512)
	}
	return algorithms[i].new(), nil
}

// MarshalHash saves the state of a hash returned by NewHash, so that a
// download can store it with the chunks it has hashed and, after a reload,
// hash on from there with RestoreHash instead of reading the stored bytes
// again. The state holds up to one block of the input in clear, no more
// secret than the stored chunks themselves. Go promises that later releases
// read states saved by earlier ones (package hash, "Compatibility").
func MarshalHash(h hash.Hash) ([]byte, error) {
	m, ok := h.(encoding.BinaryMarshaler)
	if !ok {
		return nil, fmt.Errorf("save hash state: %T cannot save its state", h)
	}
	state, err := m.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("save hash state: %w", err)
	}
	return state, nil
}

// RestoreHash returns a hash of algorithm alg that continues from a state
// saved by MarshalHash. A state of another algorithm, or corrupt, is an
// error: the caller then hashes the stored bytes again from the start.
func RestoreHash(alg string, state []byte) (hash.Hash, error) {
	h, err := NewHash(alg)
	if err != nil {
		return nil, fmt.Errorf("restore hash state: %w", err)
	}
	u, ok := h.(encoding.BinaryUnmarshaler)
	if !ok {
		return nil, fmt.Errorf("restore hash state: %T cannot restore a state", h)
	}
	if err := u.UnmarshalBinary(state); err != nil {
		return nil, fmt.Errorf("restore %s hash state: %w", alg, err)
	}
	return h, nil
}

// MaxDigestFieldLen bounds the Repr-Digest or Content-Digest field
// ParseDigestField reads. Two digests take under 200 bytes; a longer field
// is a broken or hostile server and is not worth parsing.
const MaxDigestFieldLen = 8 << 10

// ParseDigestField reads a Repr-Digest or Content-Digest field value
// (RFC 9530 §2, §3), e.g. "sha-256=:BASE64:, sha-512=:BASE64:", and returns
// the digest it checks: sha-256 if given, else sha-512. Either proves the
// bytes are the ones the server describes (neither protects against a
// server that lies in both), so one is checked, always the same one for
// the same field: sha-256, the one servers send most. The algorithms
// RFC 9530 §7.2 marks insecure or deprecated (md5, sha, unixsum, unixcksum,
// adler, crc32c) and any unknown key are ignored, as is a member whose value
// is not a byte sequence of the algorithm's length. sha-384 is not in the
// RFC 9530 registry and is ignored too.
//
// The field is an RFC 8941 §3.2 Dictionary and is parsed as one
// (§4.2.2): a malformed field, or one longer than MaxDigestFieldLen, gives
// ok false, with no error: the digest is the server's hint, not something to
// fail a download over. A repeated key counts with its last value (§4.2.2).
// Combined field lines ("a, b") are one field (RFC 9110 §5.3).
//
// Which of Repr-Digest and Content-Digest the caller may use is its
// business: only Repr-Digest, or Content-Digest of a 200 without
// Content-Encoding, describes the whole file.
func ParseDigestField(v string) (d Digest, ok bool) {
	if len(v) > MaxDigestFieldLen {
		return Digest{}, false
	}
	// Only these two are usable (RFC 9530 §7.2, status "Active").
	var found [2]Digest // sha-256, sha-512
	keys := [2]string{AlgSHA256, AlgSHA512}
	sizes := [2]int{sha256.Size, sha512.Size}
	parsed := parseDictionary(v, func(key string, seq []byte, isSeq bool) {
		for i, k := range keys {
			if key == k {
				// A later member replaces an earlier one of the same key
				// (RFC 8941 §4.2.2), usable or not.
				found[i] = Digest{}
				if isSeq && len(seq) == sizes[i] {
					found[i] = Digest{Alg: k, Sum: seq}
				}
			}
		}
	})
	if !parsed {
		return Digest{}, false
	}
	for _, d := range found {
		if !d.Empty() {
			return d, true
		}
	}
	return Digest{}, false
}

// parseDictionary parses an RFC 8941 Dictionary (§4.2.2), calling member for
// each member in order with its key and, when its value is a byte sequence,
// the decoded bytes. It reports false for a malformed field; members already
// passed to member are then to be forgotten. Parameters (§4.2.3) are parsed
// and ignored; the other value types are parsed only so that they can be
// skipped. Types added by RFC 9651 (Date, Display String) fail, as RFC 8941
// has them.
//
// v is a field value: HTTP has removed the SP and HTAB around it
// (RFC 9110 §5.5), and they are removed here again; inside, only the
// whitespace RFC 8941 allows is.
func parseDictionary(v string, member func(key string, seq []byte, isSeq bool)) bool {
	s := strings.Trim(v, " \t")
	if s == "" {
		return true // an empty Dictionary (§4.2: an empty field is absent)
	}
	for {
		key, rest, ok := sfKey(s)
		if !ok {
			return false
		}
		s = rest
		var seq []byte
		isSeq := false
		if s != "" && s[0] == '=' {
			s = s[1:]
			if s != "" && s[0] == '(' {
				s, ok = sfInnerList(s)
			} else {
				var kind byte
				kind, seq, s, ok = sfBareItem(s)
				isSeq = kind == ':'
				if ok {
					s, ok = sfParameters(s)
				}
			}
		} else {
			// A member without a value is Boolean true with parameters.
			s, ok = sfParameters(s)
		}
		if !ok {
			return false
		}
		member(key, seq, isSeq)
		s = strings.TrimLeft(s, " \t") // OWS
		if s == "" {
			return true
		}
		if s[0] != ',' {
			return false
		}
		s = strings.TrimLeft(s[1:], " \t")
		if s == "" {
			return false // a trailing comma
		}
	}
}

func isLCAlpha(c byte) bool { return c >= 'a' && c <= 'z' }
func isAlpha(c byte) bool   { return isLCAlpha(c) || (c >= 'A' && c <= 'Z') }
func isDigit(c byte) bool   { return c >= '0' && c <= '9' }

// sfKey parses key = ( lcalpha / "*" ) *( lcalpha / DIGIT / "_" / "-" / "." / "*" )
// (RFC 8941 §4.2.3.3).
func sfKey(s string) (key, rest string, ok bool) {
	if s == "" || !(isLCAlpha(s[0]) || s[0] == '*') {
		return "", s, false
	}
	i := 1
	for i < len(s) && (isLCAlpha(s[i]) || isDigit(s[i]) || strings.IndexByte("_-.*", s[i]) >= 0) {
		i++
	}
	return s[:i], s[i:], true
}

// sfParameters parses *( ";" *SP key [ "=" bare-item ] ) (RFC 8941 §4.2.3.2).
func sfParameters(s string) (string, bool) {
	for s != "" && s[0] == ';' {
		_, rest, ok := sfKey(strings.TrimLeft(s[1:], " "))
		if !ok {
			return s, false
		}
		s = rest
		if s != "" && s[0] == '=' {
			if _, _, s, ok = sfBareItem(s[1:]); !ok {
				return s, false
			}
		}
	}
	return s, true
}

// sfInnerList parses "(" *SP [ item *( 1*SP item ) *SP ] ")" parameters
// (RFC 8941 §4.2.1.2).
func sfInnerList(s string) (string, bool) {
	s = s[1:] // "("
	for {
		s = strings.TrimLeft(s, " ")
		if s == "" {
			return s, false
		}
		if s[0] == ')' {
			return sfParameters(s[1:])
		}
		var ok bool
		if _, _, s, ok = sfBareItem(s); !ok {
			return s, false
		}
		if s, ok = sfParameters(s); !ok {
			return s, false
		}
		if s == "" || (s[0] != ' ' && s[0] != ')') {
			return s, false
		}
	}
}

// sfBareItem parses one bare item (RFC 8941 §4.2.3.1) and returns its kind
// (its first character: '0' for numbers) and, for a byte sequence (':'),
// the decoded bytes.
func sfBareItem(s string) (kind byte, seq []byte, rest string, ok bool) {
	if s == "" {
		return 0, nil, s, false
	}
	switch c := s[0]; {
	case c == '-' || isDigit(c):
		rest, ok = sfNumber(s)
		return '0', nil, rest, ok
	case c == '"':
		rest, ok = sfString(s)
		return c, nil, rest, ok
	case c == '*' || isAlpha(c):
		i := 1
		for i < len(s) && (IsTokenChar(s[i]) || s[i] == ':' || s[i] == '/') {
			i++
		}
		return c, nil, s[i:], true
	case c == ':':
		seq, rest, ok = sfByteSequence(s)
		return c, seq, rest, ok
	case c == '?':
		if len(s) < 2 || (s[1] != '0' && s[1] != '1') {
			return 0, nil, s, false
		}
		return c, nil, s[2:], true
	}
	return 0, nil, s, false
}

// sfNumber parses an Integer or Decimal (RFC 8941 §4.2.4): at most 15
// digits, or at most 12 digits, ".", and 1 to 3 digits.
func sfNumber(s string) (string, bool) {
	i := 0
	if s[0] == '-' {
		i = 1
	}
	if i >= len(s) || !isDigit(s[i]) {
		return s, false
	}
	start, dot := i, -1
digits:
	for ; i < len(s); i++ {
		switch c := s[i]; {
		case isDigit(c):
		case c == '.' && dot < 0:
			if i-start > 12 {
				return s, false
			}
			dot = i
		default:
			break digits
		}
		if n := i + 1 - start; (dot < 0 && n > 15) || n > 16 {
			return s, false
		}
	}
	if dot >= 0 && (dot == i-1 || i-dot-1 > 3) {
		return s, false
	}
	return s[i:], true
}

// sfString parses a String (RFC 8941 §4.2.5): printable ASCII between
// DQUOTEs, with only \" and \\ as escapes.
func sfString(s string) (string, bool) {
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			i++
			if i >= len(s) || (s[i] != '"' && s[i] != '\\') {
				return s, false
			}
		case c == '"':
			return s[i+1:], true
		case c < 0x20 || c > 0x7e:
			return s, false
		}
	}
	return s, false
}

// sfByteSequence parses a Byte Sequence (RFC 8941 §4.2.7): base64 between
// colons. As §4.2.7 asks, missing padding and non-zero pad bits are
// accepted; any character outside the base64 alphabet, or a misplaced "=",
// fails.
func sfByteSequence(s string) ([]byte, string, bool) {
	end := strings.IndexByte(s[1:], ':')
	if end < 0 {
		return nil, s, false
	}
	b64, rest := s[1:1+end], s[2+end:]
	for i := 0; i < len(b64); i++ {
		if c := b64[i]; !isAlpha(c) && !isDigit(c) && c != '+' && c != '/' && c != '=' {
			return nil, s, false
		}
	}
	body := strings.TrimRight(b64, "=")
	if pad := len(b64) - len(body); strings.IndexByte(body, '=') >= 0 || (pad > 0 && (pad > 2 || len(b64)%4 != 0)) {
		return nil, s, false
	}
	seq, err := base64.RawStdEncoding.DecodeString(body)
	if err != nil {
		return nil, s, false
	}
	return seq, rest, true
}
