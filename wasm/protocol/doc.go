// Package protocol holds the HTTP rules of resumable downloads as pure functions:
// parsing of Content-Range, entity tags, HTTP dates and Retry-After; the
// strong-validator rules of RFC 9110 §8.8; the decision taken for each
// response to a range request (§14, §15.3.7, §15.5.17); range planning; the
// retry policy; and the download state machine.
//
// Nothing here touches the network, storage or syscall/js, so every rule is
// table-tested and fuzzed natively. The browser adapter and the download
// engine call these functions and act on their results.
package protocol
