// Package devserver is the resumer development server: it hosts the demo
// page and deterministic sample files with the headers a resumable download
// needs, and it misbehaves on request (fault injection) so that browser tests
// can prove the client never stores a wrong byte.
//
// # Routes
//
//	GET  /                      static bundle from Config.WebDir (index.html for folders);
//	                            ?csp=no-wasm adds a Content-Security-Policy that lets it
//	                            compile no WebAssembly (a worker that cannot run hash-wasm)
//	GET  /files/                JSON list of samples and demo variants (also /api/samples)
//	GET  /files/<name>[?faults] a file of Config.DataDir, as Plan answers it
//	HEAD /files/<name>          same headers, no body
//	OPTIONS /files/<name>       CORS preflight (204)
//	GET  /_login                an HTML sign-in page, where redirect=login sends clients
//	GET  /_control/log          JSON request log (?wait=N&timeout=5s waits for N entries)
//	POST /_control/reset        clear the log, the fail= counters and the armed faults
//	POST /_control/change?file= rewrite a file with new content (new ETag, Last-Modified,
//	                            Repr-Digest)
//	POST /_control/arm?file=&times=K&<fault>=<value>...
//	                            the next K GET/HEAD requests for the file get these faults
//
// # Files
//
// Every file response carries a strong ETag "<size hex>-<mtime unix nanos hex>"
// (RFC 9110 §8.8.3; nginx builds its ETag the same way), Last-Modified from
// the mtime (§8.8.2), Accept-Ranges: bytes (§14.3) and Cache-Control: no-cache.
// The preconditions (If-Match, If-Unmodified-Since, If-None-Match,
// If-Modified-Since: 412 and 304, §13.1, in the order of §13.2.2), then
// Range and If-Range (§14.2, §13.1.5: 206 with one range, 416) are
// protocol.ServeRange's, the function resumer answers range requests for
// its stored downloads with; several ranges get a 200 with the whole file
// (§14.2 allows it), never multipart/byteranges. Files are never
// compressed: ranges count bytes of the encoded content (§14.1), so
// compression would make byte offsets meaningless.
//
// What a request gets is decided by Plan, a pure function of the request,
// what the server knows of the file (File), the faults and the time: a test
// server that holds its file in memory calls it to answer exactly as this
// server does. Server.Transport serves requests without a socket, also
// under testing/synctest, where rate= and stall= follow the fake clock.
//
// A generated sample also carries Repr-Digest: sha-256=:<base64>: (RFC 9530
// §3), the SHA-256 of the whole file, on 200, 206 and 304 alike: it describes
// the selected representation, not the part a 206 carries, so a client can
// check a file it assembled from ranges. It is computed once per version of
// the sample (as it is written, or read once at start for a sample kept from
// an earlier run), never per request, and sent only while the file served is
// the one it was computed for. Other files in the data folder get none.
//
// Without body faults (rate, cut, change, overrun, stall), the response
// writer keeps io.ReaderFrom so that net/http sends the body with
// sendfile(2): the loopback speed matters for benchmarks.
//
// # Faults
//
// Query parameters on /files/ URLs (and armed faults, see Server.Arm) switch
// on misbehaviour; they combine, except for a few combinations that mean
// nothing (a 400). The table with every switch is the doc comment of the
// faults type in faults.go; in short:
//
//	validators=none|etag|lm|weak  which validators are sent
//	lm=now                        Last-Modified equal to Date (a weak date)
//	etag=<raw>                    this exact ETag header value
//	type=<media type>             this Content-Type instead of the file's
//	length=none                   no Content-Length: a chunked body
//	ranges=none                   ignore Range: always 200, Accept-Ranges: none
//	cap=<N>                       serve at most N bytes of a range (a shorter 206)
//	ifrange=ignore                serve the range even when If-Range does not match
//	cr=shift|total|missing|       corrupt Content-Range on 206; unknown: a-b/*,
//	   unknown|overflow|hugetotal overflow: a-MaxInt64/*, hugetotal: a total past int64
//	digest=bad|none               a wrong Repr-Digest (well formed), or none
//	rate=<bytes/s>                throttle the body
//	overrun=<N>                   N junk bytes after the body, no Content-Length
//	stall=<N>                     after N body bytes, send nothing, connection open
//	cut=<N>                       cut the connection after N body bytes
//	change=<N>                    change the file after N body bytes
//	status=<code>                 answer this status instead of the file
//	retry-after=<v>               with status: add Retry-After
//	fail=<K>                      with status: only the first K requests of this URL
//	expire=<K>                    a signed link: 403 after the first K requests of this URL
//	redirect=login|same|file:<n>  302 Found to /_login, this file or file n
//	cors=none|noexpose|noifrange  break CORS in one way
//	auth=<token>                  401 unless Authorization: Bearer <token> comes
//
// # CORS
//
// /files/ responses carry Access-Control-Allow-Origin: * rather than an echo
// of Origin: the samples are public and resumer's fetches send no
// credentials, and "*" needs no Vary: Origin. The headers a resumer must read
// are listed in Access-Control-Expose-Headers. If-Range and If-Match are not
// CORS-safelisted request headers, so a cross-origin resume needs the
// preflight this server answers on OPTIONS; the preflight also allows
// Authorization, for clients that send a token (auth=).
//
// # Log
//
// Every /files/ and /_login request (listings and preflights included) is
// recorded in a LogEntry when it completes; static and /_control/ requests
// are not, so that reading the log does not change it. An entry says
// whether an Authorization header came, never what it said, and shows the
// token of auth= as (hidden). Any page can make a browser request these
// URLs, so the server keeps a bounded amount for its clients: the newest
// Config.LogLimit entries, each value a client chose cut at 512 bytes,
// at most 10000 fail= counters, at most MaxArmed armed sets.
package devserver
