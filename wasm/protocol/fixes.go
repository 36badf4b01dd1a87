package protocol

import (
	"slices"
	"strings"
)

// The server-side fixes a check names, per finding (and, where a finding
// has several causes, per cause: a Reason code or a finding's own case).
// They are advice for people: what to change in each common server's
// configuration, or in the code that serves the file.

// Servers a fix may name.
const (
	ServerNginx    = "nginx"
	ServerApache   = "Apache"
	ServerCaddy    = "Caddy"
	ServerS3       = "S3/CloudFront"
	ServerGo       = "Go"
	ServerExpress  = "Express"
	ServerLighttpd = "lighttpd"
	ServerAny      = "any server"
)

var fixes = map[string][]Fix{
	FindingValidators + "/" + ReasonNoValidators: {
		{ServerNginx, "nginx sends ETag and Last-Modified for static files (root, alias); remove `etag off;`, `proxy_hide_header ETag;` or `Last-Modified`, and body filters (`sub_filter`, `ssi on`, `addition`), which drop both; behind `proxy_pass` the upstream must send them"},
		{ServerApache, "`FileETag MTime Size` (the default); remove `Header unset ETag` and `Header unset Last-Modified`"},
		{ServerCaddy, "`file_server` sends both; remove `header -ETag` or `header -Last-Modified`; behind `reverse_proxy` the upstream must send them"},
		{ServerS3, "S3 sends both; a CloudFront response headers policy or function must not remove them"},
		{ServerGo, "`http.FileServer` and `http.ServeContent(w, r, name, modtime, f)` send Last-Modified from modtime (give the file's real one, not `time.Time{}`), which is enough; for a strong ETag, set one with `w.Header().Set(\"ETag\", ...)` before calling ServeContent"},
		{ServerExpress, "`express.static` and `res.sendFile` send both unless `etag: false` or `lastModified: false` is set; a handler that pipes a stream sends neither"},
		{ServerLighttpd, "`static-file.etags = \"enable\"` (the default) keeps the ETag; Last-Modified is always sent for static files"},
	},
	FindingValidators + "/" + ReasonWeakETag: {
		{ServerAny, "send a strong ETag (without `W/`), or a Last-Modified: a weak ETag cannot prove that two byte ranges belong to one version (RFC 9110 §8.8.3)"},
		{ServerNginx, "nginx weakens its ETag when a filter changes the body (gzip, sub_filter); range answers are not compressed, so keep `etag on;` and Last-Modified for this location"},
		{ServerExpress, "`express.static`'s ETag is weak by design, but its Last-Modified is strong: keep `lastModified: true` (the default)"},
	},
	FindingValidators + "/" + ReasonWeakLastModified: {
		{ServerAny, "send an ETag: a Last-Modified within a second of Date is weak (RFC 9110 §8.8.2.2), since a change in that second goes unnoticed; a file written just now gets a strong date a second later"},
		{ServerApache, "`FileETag MTime Size`"},
		{ServerNginx, "`etag on;` (the default)"},
	},
	FindingValidators + "/" + ReasonLongValidator: {
		{ServerAny, "make the ETag a short hash or version (a few dozen bytes); an ETag of kilobytes is not kept"},
	},
	FindingValidators + "/" + ReasonHiddenHeaders: {
		{ServerAny, "expose the headers to pages of other origins: `Access-Control-Expose-Headers: ETag, Last-Modified, Date, Content-Range, Accept-Ranges`"},
		{ServerNginx, "`add_header Access-Control-Expose-Headers \"ETag, Last-Modified, Date, Content-Range, Accept-Ranges\" always;`"},
		{ServerApache, "`Header always set Access-Control-Expose-Headers \"ETag, Last-Modified, Date, Content-Range, Accept-Ranges\"`"},
		{ServerCaddy, "`header Access-Control-Expose-Headers \"ETag, Last-Modified, Date, Content-Range, Accept-Ranges\"`"},
		{ServerS3, "in the bucket's CORS configuration, `\"ExposeHeaders\": [\"ETag\", \"Last-Modified\", \"Date\", \"Content-Range\", \"Accept-Ranges\"]`; CloudFront must forward the Origin header (or use a CORS response headers policy)"},
		{ServerExpress, "`cors({ exposedHeaders: [\"ETag\", \"Last-Modified\", \"Date\", \"Content-Range\", \"Accept-Ranges\"] })`"},
	},
	FindingRanges + "/" + ReasonNoRanges: {
		{ServerNginx, "static files answer ranges; remove `max_ranges 0;`; behind `proxy_pass` the upstream must answer them (or cache with `proxy_force_ranges on;`)"},
		{ServerApache, "static files answer ranges; remove `MaxRanges none` and `RequestHeader unset Range`"},
		{ServerCaddy, "`file_server` answers ranges; behind `reverse_proxy` the upstream must"},
		{ServerS3, "S3 and CloudFront answer ranges; a function that makes the body itself must too"},
		{ServerGo, "use `http.ServeContent` or `http.FileServer` (an `io.ReadSeeker`); `io.Copy(w, f)` ignores Range"},
		{ServerExpress, "`express.static` and `res.sendFile` answer ranges (`acceptRanges: true`, the default); piping a stream does not"},
		{ServerLighttpd, "remove `server.range-requests = \"disable\"` (ranges are on by default)"},
	},
	FindingRanges + "/": {
		{ServerAny, "a 206 must carry `Content-Range: bytes FIRST-LAST/SIZE` naming exactly the bytes of its body, starting where the Range asked (RFC 9110 §14.4, §15.3.7); a proxy or handler that rewrites ranges gets this wrong"},
	},
	FindingRanges + "/" + ReasonEncoded: {
		{ServerAny, "answer a single range with one part (206 with Content-Range), never multipart/byteranges, and do not compress an answer to a client that asked for identity; serve a precompressed file as its own type (`application/gzip`, no Content-Encoding), whose bytes ranges can address"},
	},
	FindingRanges + "/" + ReasonUnknownLength: {
		{ServerAny, "send the length: `Content-Range: bytes 0-0/SIZE` on a 206 and Content-Length on a 200; a body made on the fly has none, so store it as a file first"},
	},
	FindingRanges + "/" + ReasonHiddenHeaders: {
		{ServerAny, "expose Content-Range to pages of other origins: `Access-Control-Expose-Headers: ETag, Last-Modified, Date, Content-Range, Accept-Ranges`"},
	},
	FindingAcceptRanges + "/": {
		{ServerAny, "send `Accept-Ranges: bytes` on 200 and HEAD answers (nginx, Apache, Caddy, Go's ServeContent and express.static do)"},
	},
	FindingIfRange + "/200": {
		{ServerAny, "the ETag must be the same on every request for an unchanged file, and If-Range must be evaluated (RFC 9110 §13.1.5); servers behind one name that compute ETags differently answer every resume with the whole file"},
		{ServerNginx, "nginx's ETag is the file's mtime and size: give the copies on every server the same mtime (`rsync -t`, `cp -p`)"},
		{ServerApache, "`FileETag MTime Size`, not `INode`: inodes differ between servers; mod_deflate's `-gzip` suffix is only on compressed answers"},
		{ServerS3, "a CDN in front must forward If-Range to the origin or evaluate it against the cached ETag"},
	},
	FindingStale + "/": {
		{ServerAny, "evaluate If-Range: serve the range only if If-Range matches the current ETag (strong comparison) or equals Last-Modified exactly, else the whole file with 200 (RFC 9110 §13.1.5); code that parses Range itself usually forgets it"},
		{ServerGo, "`http.ServeContent` evaluates If-Range; hand-written Range handling must too"},
	},
	FindingIfMatch + "/": {
		{ServerAny, "keep ETags stable between requests, and compare If-Match strongly (RFC 9110 §13.1.1)"},
	},
	FindingCompression + "/": {
		{ServerAny, "do not compress answers to range requests: offsets count the compressed bytes, which differ from one compression to the next"},
		{ServerGo, "a gzip middleware must pass requests with Range through uncompressed"},
	},
	FindingCORS + "/origin": {
		{ServerNginx, "`add_header Access-Control-Allow-Origin \"https://app.example\" always;`"},
		{ServerApache, "`Header always set Access-Control-Allow-Origin \"https://app.example\"`"},
		{ServerCaddy, "`header Access-Control-Allow-Origin \"https://app.example\"`"},
		{ServerS3, "a bucket CORS rule with `AllowedOrigins` for the page's origin and `AllowedMethods` GET and HEAD; CloudFront must forward the Origin header"},
		{ServerExpress, "`app.use(cors({ origin: \"https://app.example\" }))`"},
	},
	FindingCORS + "/if-range": {
		{ServerAny, "answer the preflight (OPTIONS) with `Access-Control-Allow-Headers: Range, If-Range` (Range with a start needs no preflight; If-Range does)"},
		{ServerNginx, "`add_header Access-Control-Allow-Headers \"Range, If-Range\" always;` and `if ($request_method = OPTIONS) { return 204; }`"},
		{ServerS3, "`\"AllowedHeaders\": [\"Range\", \"If-Range\"]` in the bucket's CORS rule"},
		{ServerExpress, "`cors({ allowedHeaders: [\"Range\", \"If-Range\"] })`"},
	},
}

// fixesFor returns the fixes for a finding and one of its causes ("" for
// a finding with one cause).
// ServerOf returns the server of the fixes (one of the Server constants)
// that a Server or X-Powered-By header value names, "" for none of them.
// (Go's net/http sends neither.)
func ServerOf(header string) string {
	h := strings.ToLower(header)
	for _, s := range []struct{ token, server string }{
		{"nginx", ServerNginx}, {"openresty", ServerNginx}, {"apache", ServerApache}, {"caddy", ServerCaddy},
		{"amazons3", ServerS3}, {"cloudfront", ServerS3}, {"lighttpd", ServerLighttpd}, {"express", ServerExpress},
	} {
		if strings.Contains(h, s.token) {
			return s.server
		}
	}
	return ""
}

// ServerNamed returns the server of the fixes that a person names:
// one of the Server constants, compared without case, or what ServerOf
// finds in the name ("s3", "cloudfront", "apache2"); ok is false for none.
func ServerNamed(name string) (server string, ok bool) {
	for _, s := range [...]string{ServerNginx, ServerApache, ServerCaddy, ServerS3, ServerGo, ServerExpress, ServerLighttpd} {
		if strings.EqualFold(name, s) {
			return s, true
		}
	}
	if name = strings.ToLower(strings.TrimSpace(name)); name == "s3" {
		return ServerS3, true
	}
	s := ServerOf(name)
	return s, s != ""
}

// ForServer lists, in every finding, the fixes for server first, then
// those for any server, then the others, each group in its own order; and
// records server as the report's. server "" keeps the report's own (the
// one that answered, if known).
func (r *Report) ForServer(server string) {
	if server != "" {
		r.Server = server
	}
	rank := func(f Fix) int {
		switch {
		case r.Server != "" && f.Server == r.Server:
			return 0
		case f.Server == ServerAny:
			return 1
		}
		return 2
	}
	for i := range r.Findings {
		fs := slices.Clone(r.Findings[i].Fix)
		slices.SortStableFunc(fs, func(a, b Fix) int { return rank(a) - rank(b) })
		r.Findings[i].Fix = fs
	}
}

func fixesFor(id, cause string) []Fix {
	if f, ok := fixes[id+"/"+cause]; ok {
		return f
	}
	return fixes[id+"/"]
}
