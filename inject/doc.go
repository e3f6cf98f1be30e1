// Package inject puts the recorder into proxied HTML pages and adjusts
// what the recorder and the player need from responses: the streaming HTML
// rewriter, the header policy (Content-Security-Policy, CORS, caching
// headers), content-encoding handling and the rules that decide which
// responses are touched at all.
//
// It is plain Go with no Caddy import: the Caddy handler creates an
// Injector from its configuration, calls PrepareRequest on the upstream
// request, wraps its ResponseWriter with Wrap, and closes the wrapper when
// the next handler returns.
//
// # Which responses are injected
//
// Only documents: Content-Type text/html or application/xhtml+xml (and a
// body that does not start with '{' or '[', as JSON labelled text/html
// does: it passes through untouched), status
// 200 (4xx and 5xx too with Config.InjectErrorPages), not for HEAD (whose
// headers are edited like the GET's), not 204, 206 or 304, not protocol
// upgrades, not fragment requests (HX-Request, Turbo-Frame,
// X-Requested-With but for the app name Android's WebView sends on
// navigations, or Sec-Fetch-Dest other than document, iframe or frame),
// not with Cache-Control: no-transform on the request or the
// response, not downloads (Content-Disposition: attachment), not documents
// in an encoding that is not ASCII-compatible (UTF-16 and UTF-32, by
// charset or byte order mark), not bodies compressed in an encoding we
// cannot decode (anything but gzip, br, zstd, deflate, or several stacked),
// and not when the caller says the visitor is not recorded. The Skip*
// constants name each reason.
//
// # Where the tag goes
//
// Early in <head>: right after <meta charset> (or its http-equiv
// Content-Type form) when one comes before anything else that matters
// within the first 1024 bytes (so that the charset declaration stays
// within the window the browser's encoding prescan reads), else right
// after <head>. Without a <head> tag, the head starts at the first head
// element (<meta>, <link>, <title>, <base>, <style>, <script>, ...) and
// ends at the first body content, so the tag goes before the first
// element that cannot be in the head, or before the first text that is
// not white space. A byte order mark, doctype, comments (including a
// "<head>" inside one), processing instructions and white space before
// the first element are kept first. Tag and attribute names are matched
// without regard to case; the content of <script>, <style>, <textarea>,
// <title>, <noscript> and the other raw-text elements is never searched,
// and a <template> in the head ends the search (the tag never goes inside
// one). The tag is injected exactly once per document.
//
// The tag always goes before the document's <base>, when there is one
// before the point chosen above. Our src is root-relative
// ("/__replay/..."), and a root-relative URL does depend on <base> when
// <base> points to another origin (a CDN): it would then load from that
// origin. Browsers resolve a script's URL when the parser inserts it,
// against the base URL of that moment, so a tag before <base> always loads
// from the page's own origin. (The recorder must likewise build its worker
// and endpoint URLs from location.origin, not from document.baseURI.)
//
// Everything else in the document passes through byte for byte, except
// for the crossorigin attributes and <meta> CSP policies described below.
//
// # Streaming and memory
//
// The rewriter never buffers a page: bytes are handed to the next writer
// as they come, in as few pieces as there are edits. It holds back only a
// tag split across two writes (up to 16 KiB; a longer tag passes through
// unedited) and, while looking for <meta charset>, the bytes after <head>
// (up to the 1024th byte of the document). Flush writes what is held back
// (injecting right after <head> if still looking) and flushes the next
// writer, so a page that flushes its head early still gets it to the
// browser early, with our tag.
//
// # Content-Security-Policy
//
// Policies from Content-Security-Policy and
// Content-Security-Policy-Report-Only headers (several fields, or
// comma-separated policies) and from <meta http-equiv> tags are amended so
// that the recorder's script, its worker and its ingest endpoint are
// allowed; see csp.go for every rule. In short: only restricted directives
// are changed (following the fallbacks), with the path-qualified origin of
// our base path; nonces are reused on our tag and never added to a policy;
// 'strict-dynamic' policies get the nonce or, when hash-based, the
// script's SRI hash with an integrity attribute; 'none' is replaced; a
// page whose enforced policy cannot admit the recorder is not injected.
//
// # CORS and crossorigin
//
// <link rel=stylesheet>, <link rel=preload as=font> and <link rel=preload
// as=style> get crossorigin="anonymous" when their URL (resolved against
// the page URL and <base href>) is on the page's own origin or on one of
// Config.CrossOriginOrigins, and they have no crossorigin attribute yet.
// Links inside <template> are left alone.
//
// The attribute is there so that the recorder can read the rules of
// stylesheets from listed origins; a same-origin stylesheet's rules are
// readable without it. So when no origin is listed, stylesheets and style
// preloads are left as they are everywhere (all of them keep one CORS
// mode), only same-origin font preloads get the attribute (fonts are always
// fetched with CORS), and once the body starts the rest of the document is
// copied without being scanned: the recorder's tag is then the only change
// to the page, and the proxy's cost per page is its head. Preloads in Link response
// headers (and 103 Early Hints) get "; crossorigin=anonymous" by the same
// rule, so that they keep matching the elements (a preload in another CORS
// mode is not reused: the file would be downloaded twice). Stylesheet, font and image
// responses get Access-Control-Allow-Origin for the request's Origin when
// it is in Config.CORSOrigins (never "*" with credentials), and Vary:
// Origin; an Access-Control-Allow-Origin set upstream is kept.
//
// # Content encodings
//
// PrepareRequest asks the upstream for identity on likely navigations, so
// most pages arrive uncompressed. A page compressed anyway with gzip, br,
// zstd or deflate is decoded on the fly and sent as identity (Caddy's
// encode handler compresses it for the client). Rewritten responses lose
// Content-Length, Accept-Ranges and body digests, and a strong ETag becomes
// weak. A corrupt compressed body ends the response with an error after
// what could be decoded; bytes after a complete gzip member (that do not
// start another one) or brotli stream are ignored, as browsers ignore them.
package inject
