package inject

import (
	"errors"
	"io"
	"net/url"
)

// This file is the streaming HTML rewriter. It is a purpose-built scanner,
// not a tokenizer: it follows the WHATWG tokenizer's states only as far as
// needed to know where tags, comments and raw text begin and end, and
// looks closely only at the few tags it acts on:
//
//   - before the injection: <html>, <head>, the head elements and the
//     first body content, to find the injection point;
//   - <link rel=stylesheet> and font/style preloads, for crossorigin;
//   - <meta http-equiv=Content-Security-Policy>, to amend the policy;
//   - <base href>, to resolve link URLs like the browser does.
//
// Everything else is passed through byte for byte, without copying: a
// Write hands its input to the destination in as few pieces as there are
// edits. Only an unfinished tag at the end of a Write (at most
// maxTagSize bytes) and the start of <head> while looking for <meta
// charset> (at most charsetWindow bytes) are held back, so memory per
// response does not depend on the page's size.

const (
	// maxTagSize bounds a tag held back across writes. A longer tag we
	// wanted to edit (a huge <meta> or <link>) passes through unedited.
	maxTagSize = 16 << 10
	// charsetWindow is how far into the document browsers look for a
	// <meta charset> before parsing (the encoding prescan reads 1024
	// bytes). Our tag goes after such a meta so as not to push it out.
	charsetWindow = 1024
)

// errClosed is returned by writes after Close.
var errClosed = errors.New("inject: write after Close")

// RewriteOptions configures a Rewriter.
type RewriteOptions struct {
	// Tag renders the element to inject. Nil means no injection: the
	// rewriter then only adds crossorigin attributes.
	Tag func(TagContext) []byte
	// PageURL is the document's absolute URL. It is the base for link
	// URLs and gives the page's origin (for crossorigin and CSP). Nil
	// disables crossorigin and CSP work.
	PageURL *url.URL
	// BasePath is where the recorder's files and endpoint live on the
	// site; "" means "/__replay/".
	BasePath string
	// ScriptIntegrity is the recorder script's SRI value, used only for
	// hash-based 'strict-dynamic' policies.
	ScriptIntegrity string
	// CSP and CSPReportOnly are the response's Content-Security-Policy and
	// Content-Security-Policy-Report-Only header values, as the browser
	// will receive them (after Injector amended them). They decide the
	// tag's nonce and integrity; <meta> policies in the page add to them.
	CSP, CSPReportOnly []string
	// CrossOriginOrigins lists origins ("https://cdn.example.com") that
	// answer with CORS headers: links to them get crossorigin="anonymous",
	// like links to the page's own origin.
	CrossOriginOrigins []string
	// XHTML is set for application/xhtml+xml documents, where "<script/>"
	// is a complete element.
	XHTML bool
}

// Rewriter streams an HTML document from Write to its destination,
// injecting the tag once, early in <head>, adding crossorigin attributes
// and amending <meta> CSP policies. It implements io.WriteCloser; Close
// must be called at the end of the document (it writes what was held
// back). A Rewriter is not safe for concurrent use.
type Rewriter struct {
	dst  io.Writer
	opts RewriteOptions
	err  error

	passthrough bool // copy the rest as is (not ASCII-compatible, or nothing left to edit)
	closed      bool
	// skipBody: no cross-origin origin is listed, so nothing in the body
	// needs an edit: same-origin stylesheets are readable without
	// crossorigin, and browsers ignore CSP <meta> outside <head>. Once the
	// body starts (bodyStarted) the rest of the page is copied unscanned.
	skipBody    bool
	bodyStarted bool

	// Scanner state.
	state       uint8
	sub         uint8 // comment or script-data sub-state
	match       int   // raw-text end tag matching progress
	raw         string
	name        [12]byte
	nameLen     int
	kind        tagKind
	endTag      bool
	rawClose    bool // the end tag being scanned closes a raw-text element
	selfClosing bool
	keep        bool // the current start tag is kept whole for an edit
	pendingHead bool // the current start tag is <head>
	template    int  // depth of <template>: links inside are inert

	// Position bookkeeping for the current Write.
	p        []byte
	emitted  int   // p[:emitted] has been handed to out
	inOff    int64 // input offset of p[0]
	tokStart int   // index in p of the current token's '<'; -1 if earlier
	tokInOff int64 // input offset of the current token's '<'
	tagBuf   []byte
	bomLen   int64
	lead     int64 // leading bytes that are white space or the byte order mark
	// notMarkup: the body starts with '{' or '[' (JSON labelled text/html),
	// so it is passed through untouched.
	notMarkup bool

	// Injection.
	phase     uint8
	holding   bool
	hold      []byte
	holdInOff int64
	injected  bool
	blocked   bool
	tc        TagContext
	needs     *cspNeeds
	policies  []*cspPolicy

	// Crossorigin.
	co       *originSet
	base     *url.URL // document base URL (page URL, or the first <base href>)
	baseOK   bool     // the base URL's origin answers with CORS
	baseSeen bool

	onEdit     func(edit) // tests: every change to the stream
	noBodyScan bool       // tests: scan the body with the general states only (see bodyScan)
}

// edit describes one change of the stream: del input bytes at inOff were
// replaced by ins.
type edit struct {
	inOff int64
	del   int
	ins   []byte
	kind  string
}

// Injection phases.
const (
	phStart uint8 = iota // nothing but doctype, comments, white space yet
	phHTML               // after <html>
	phHead               // in <head>: output held back from the candidate point
	phDone               // injected, or given up
)

type tagKind uint8

const (
	tkOther tagKind = iota
	tkHTML
	tkHead
	tkMeta
	tkLink
	tkBase
	tkTitle
	tkScript
	tkStyle
	tkNoscript
	tkTemplate
	tkTextarea
	tkXmp
	tkIframe
	tkNoembed
	tkNoframes
	tkPlaintext
	tkBasefont
	tkBgsound
)

// kindOfFold is kindOf for a name as written in the page, in any case.
// Names are 3 to 9 bytes here (see named).
func kindOfFold(name []byte) tagKind {
	for i, c := range name {
		if c >= 'A' && c <= 'Z' {
			var low [9]byte
			copy(low[:], name[:i])
			for k := i; k < len(name); k++ {
				low[k] = toLower(name[k])
			}
			return kindOf(low[:len(name)])
		}
	}
	return kindOf(name)
}

// kindOf tells the kind of a lower-case tag name.
func kindOf(name []byte) tagKind {
	// A switch on the first letter rejects most names with one jump.
	switch name[0] {
	case 'b':
		switch string(name) {
		case "base":
			return tkBase
		case "basefont":
			return tkBasefont
		case "bgsound":
			return tkBgsound
		}
	case 'h':
		switch string(name) {
		case "html":
			return tkHTML
		case "head":
			return tkHead
		}
	case 'i':
		if string(name) == "iframe" {
			return tkIframe
		}
	case 'l':
		if string(name) == "link" {
			return tkLink
		}
	case 'm':
		if string(name) == "meta" {
			return tkMeta
		}
	case 'n':
		switch string(name) {
		case "noscript":
			return tkNoscript
		case "noembed":
			return tkNoembed
		case "noframes":
			return tkNoframes
		}
	case 'p':
		if string(name) == "plaintext" {
			return tkPlaintext
		}
	case 's':
		switch string(name) {
		case "script":
			return tkScript
		case "style":
			return tkStyle
		}
	case 't':
		switch string(name) {
		case "title":
			return tkTitle
		case "template":
			return tkTemplate
		case "textarea":
			return tkTextarea
		}
	case 'x':
		if string(name) == "xmp" {
			return tkXmp
		}
	}
	return tkOther
}

// rawName is the end tag that closes a raw-text (or RCDATA) element.
func rawName(k tagKind) string {
	switch k {
	case tkStyle:
		return "style"
	case tkNoscript:
		return "noscript" // raw text when scripting is enabled, as for our visitors
	case tkTextarea:
		return "textarea"
	case tkTitle:
		return "title"
	case tkXmp:
		return "xmp"
	case tkIframe:
		return "iframe"
	case tkNoembed:
		return "noembed"
	case tkNoframes:
		return "noframes"
	}
	return ""
}

// isHeadKind reports whether the element belongs in <head>: seen before
// any <head> tag, it starts the head implicitly.
func isHeadKind(k tagKind) bool {
	switch k {
	case tkMeta, tkLink, tkTitle, tkBase, tkStyle, tkScript, tkNoscript, tkTemplate, tkBasefont, tkBgsound:
		return true
	}
	return false
}

// NewRewriter returns a Rewriter writing the edited document to dst.
func NewRewriter(dst io.Writer, opts RewriteOptions) *Rewriter {
	return newRewriter(dst, opts, parseOrigins(opts.CrossOriginOrigins))
}

// newRewriter is NewRewriter with the listed origins already parsed (the
// Injector parses them once, not per response).
func newRewriter(dst io.Writer, opts RewriteOptions, listed []origin) *Rewriter {
	r := &Rewriter{dst: dst, opts: opts, tokStart: -1, skipBody: len(listed) == 0}
	if opts.BasePath == "" {
		r.opts.BasePath = DefaultBasePath
	}
	if opts.Tag == nil {
		r.phase = phDone
	}
	if u := opts.PageURL; u != nil && u.Host != "" && (u.Scheme == "http" || u.Scheme == "https") {
		r.needs = newCSPNeeds(u.Scheme, u.Host, r.opts.BasePath, opts.ScriptIntegrity)
		r.co = newOriginSet(u, listed)
		r.base = u
		r.baseOK = true // the page's own origin
		for _, v := range opts.CSP {
			r.policies = append(r.policies, parseCSPList(v, false)...)
		}
		for _, v := range opts.CSPReportOnly {
			r.policies = append(r.policies, parseCSPList(v, true)...)
		}
	}
	return r
}

// Injected reports whether the tag was written.
func (r *Rewriter) Injected() bool { return r.injected }

// Blocked reports whether the page's Content-Security-Policy made the
// injection impossible without weakening it (a 'strict-dynamic' policy
// with neither a nonce to reuse nor hashes).
func (r *Rewriter) Blocked() bool { return r.blocked }

// Write rewrites p. It always consumes all of p; what it holds back is
// bounded and written by a later Write, Flush or Close.
func (r *Rewriter) Write(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if r.closed {
		return 0, errClosed
	}
	if len(p) == 0 {
		return 0, nil
	}
	if r.inOff == 0 && (p[0] == 0xFE || p[0] == 0xFF) {
		// A UTF-16 byte order mark: the markup is not in an
		// ASCII-compatible encoding, so our ASCII tag would corrupt it.
		r.passthrough = true
		r.phase = phDone
	}
	if r.passthrough {
		r.write(p)
		r.inOff += int64(len(p))
		return len(p), r.err
	}
	r.p, r.emitted, r.tokStart = p, 0, -1
	r.scan(p)
	if r.needCapture() {
		start := r.tokStart
		if start < 0 {
			start = 0
		}
		r.flushTo(start)
		if len(r.tagBuf)+len(p)-start > maxTagSize {
			// Too long to hold: pass the tag through unedited.
			r.release()
			r.keep = false
			r.out(p[start:])
		} else {
			r.tagBuf = append(r.tagBuf, p[start:]...)
		}
		r.emitted = len(p)
	} else {
		r.flushTo(len(p))
	}
	r.inOff += int64(len(p))
	r.p = nil
	return len(p), r.err
}

// Flush writes everything held back that can be written: if the injection
// point was still being chosen (looking for <meta charset>), the tag goes
// right after <head> now, so that a streaming page's head reaches the
// client with it. Only an unfinished tag stays held. Flush does not flush
// the destination: the caller does (ResponseWriter.Flush does both).
func (r *Rewriter) Flush() error {
	if r.holding {
		r.inject(true, 0)
	}
	return r.err
}

// Close ends the document: it writes what was held back, injecting at the
// last possible point if no element was seen (a document of only white
// space, comments and doctype), and returns the first write error.
func (r *Rewriter) Close() error {
	if r.closed {
		return r.err
	}
	r.closed = true
	if r.passthrough {
		return r.err
	}
	if len(r.tagBuf) > 0 {
		// The document ends inside a tag, which browsers drop. Inject
		// before it rather than into it.
		if r.holding {
			r.inject(true, 0)
		} else if r.phase < phDone {
			r.inject(false, r.tokInOff)
		}
		r.release()
	}
	if r.holding {
		r.inject(true, 0)
	}
	if r.phase < phDone && r.state == stText && r.inOff > r.bomLen {
		r.inject(false, r.inOff)
	}
	r.phase = phDone
	return r.err
}

// write hands bytes to the destination.
func (r *Rewriter) write(b []byte) {
	if r.err != nil || len(b) == 0 {
		return
	}
	n, err := r.dst.Write(b)
	if err == nil && n < len(b) {
		err = io.ErrShortWrite
	}
	if err != nil {
		r.err = err
	}
}

// out emits document bytes: to the destination, or to the hold buffer
// while the injection point is being chosen. Holding stops (injecting at
// the candidate point) before the held bytes would reach past the charset
// window: a <meta charset> beyond it does not matter any more.
func (r *Rewriter) out(b []byte) {
	if len(b) == 0 {
		return
	}
	if r.holding {
		if r.holdInOff+int64(len(r.hold)+len(b)) <= charsetWindow {
			r.hold = append(r.hold, b...)
			return
		}
		r.inject(true, 0)
	}
	r.write(b)
}

// flushTo emits the current Write's bytes up to index k.
func (r *Rewriter) flushTo(k int) {
	if k > r.emitted {
		r.out(r.p[r.emitted:k])
		r.emitted = k
	}
}

// beforeToken emits everything before the current token.
func (r *Rewriter) beforeToken() {
	if r.tokStart >= 0 {
		r.flushTo(r.tokStart)
	}
}

// release stops keeping the current tag and emits what was kept of it.
func (r *Rewriter) release() {
	if len(r.tagBuf) > 0 {
		b := r.tagBuf
		r.tagBuf = r.tagBuf[:0]
		r.out(b)
	}
}

// insert emits bytes that are not in the input, at input offset inOff.
func (r *Rewriter) insert(ins []byte, inOff int64, del int, kind string) {
	r.out(ins)
	if r.onEdit != nil {
		r.onEdit(edit{inOff: inOff, del: del, ins: append([]byte(nil), ins...), kind: kind})
	}
}

// needCapture reports whether the bytes of the unfinished token must be
// kept at the end of a Write: a possible start tag whose name is not known
// yet (it may be the point to inject before), or a tag we edit.
func (r *Rewriter) needCapture() bool {
	switch r.state {
	case stTagOpen:
		return true
	case stTagName:
		return !r.endTag
	case stBeforeAttr, stAttrName, stAfterAttrName, stBeforeValue, stValueDQ, stValueSQ, stValueUnq, stAfterValueQ, stSelfClosing:
		return r.keep
	}
	return false
}

// startHolding starts holding output at input offset inOff (the candidate
// injection point), after emitting what precedes it.
func (r *Rewriter) startHolding(inOff int64) {
	r.phase = phHead
	if inOff >= charsetWindow {
		// Too far for a <meta charset> to matter: inject right here.
		r.inject(false, inOff)
		return
	}
	r.holding = true
	r.hold = r.hold[:0]
	r.holdInOff = inOff
}

// inject writes the tag, either at the candidate point (before everything
// held) or here (after everything held, e.g. right after <meta charset>).
func (r *Rewriter) inject(atCandidate bool, inOff int64) {
	if r.phase == phDone && !r.holding {
		return
	}
	r.phase = phDone
	held := r.holding
	r.holding = false
	if atCandidate && held {
		inOff = r.holdInOff
	}
	var tag []byte
	if r.opts.Tag != nil {
		ok := true
		if r.needs != nil {
			r.tc, ok = decideTag(r.policies, r.needs, r.tc)
		}
		if ok {
			tag = r.opts.Tag(r.tc)
		} else {
			r.blocked = true
		}
	}
	if held && !atCandidate {
		r.write(r.hold)
	}
	if tag != nil {
		r.write(tag)
		r.injected = true
		if r.onEdit != nil {
			r.onEdit(edit{inOff: inOff, ins: append([]byte(nil), tag...), kind: "tag"})
		}
	}
	if held && atCandidate {
		r.write(r.hold)
	}
	r.hold = r.hold[:0]
}

// textSeen looks at text p[i:end] before the injection: the first
// character that is not white space (nor a leading byte order mark) starts
// the body, so the tag goes before it at the latest.
//
// A body whose first such character, before any markup, is '{' or '[' is
// JSON labelled text/html (PHP's default Content-Type, common in APIs),
// not a document: it is passed through untouched (notMarkup), since a tag
// before it, or a crossorigin attribute inside one of its strings, would
// break every client that parses it.
func (r *Rewriter) textSeen(p []byte, i, end int) {
	for k := i; k < end; k++ {
		c := p[k]
		off := r.inOff + int64(k)
		if isSpace(c) {
			if off == r.lead {
				r.lead++
			}
			continue
		}
		if off < 3 && off == r.bomLen && c == "\xEF\xBB\xBF"[off] {
			r.bomLen++
			r.lead++
			continue
		}
		if off == r.lead && (c == '{' || c == '[') {
			r.notMarkup, r.passthrough, r.phase = true, true, phDone
			return
		}
		if r.phase == phHead {
			r.inject(true, 0)
		} else {
			r.flushTo(k)
			r.inject(false, r.inOff+int64(k))
		}
		return
	}
}

// bodyStartsAtToken injects before the current token, which starts the
// body (or, in <head>, ends it).
func (r *Rewriter) bodyStartsAtToken() {
	if r.phase == phHead {
		r.inject(true, 0)
		return
	}
	r.beforeToken()
	r.inject(false, r.tokInOff)
}

// named runs when a tag's name is complete.
func (r *Rewriter) named() {
	// Only names of 3 to 9 letters can be one we look at ("xmp" to
	// "plaintext"); most tags (a, p, li, td...) are rejected right away.
	k := tkOther
	if n := r.nameLen; n >= 3 && n <= 9 && (!r.endTag || r.template > 0) {
		k = kindOf(r.name[:n])
	}
	r.setKind(k)
}

// setKind runs when the name of a tag of kind k is complete.
func (r *Rewriter) setKind(k tagKind) {
	r.kind = k
	if r.endTag {
		return
	}
	r.selfClosing = false
	if r.phase < phDone {
		switch r.phase {
		case phStart, phHTML:
			switch {
			case k == tkHTML:
				r.phase = phHTML
			case k == tkHead:
				r.pendingHead = true
			case isHeadKind(k):
				// A head element without <head>: the head starts here.
				r.beforeToken()
				r.startHolding(r.tokInOff)
				if r.phase == phHead {
					r.headStartTag(k)
				}
			default:
				r.bodyStartsAtToken()
			}
		case phHead:
			r.headStartTag(k)
		}
	}
	if k == tkOther && r.phase == phDone && r.template == 0 {
		r.bodyStarted = r.skipBody
	}
	switch k {
	case tkLink:
		r.keep = r.co != nil && r.template == 0
	case tkMeta:
		r.keep = r.phase == phHead || (r.needs != nil && r.injected)
	case tkBase:
		// A <base> inside <template> is inert, like links there.
		r.keep = r.co != nil && !r.baseSeen && r.template == 0
	default:
		r.keep = false
	}
	if !r.keep {
		r.release()
	}
}

// headStartTag decides, for a start tag inside <head> before the
// injection, whether to keep looking for <meta charset> or inject now.
// We look past <meta>, <link> and <title> only; a <base> must come after
// our tag (see the package documentation), scripts had better, and
// anything else ends the head.
func (r *Rewriter) headStartTag(k tagKind) {
	switch k {
	case tkMeta, tkLink, tkTitle, tkHTML, tkHead:
	default:
		r.inject(true, 0)
	}
}

// tagEnd runs at the '>' (p[i]) that ends a tag.
func (r *Rewriter) tagEnd(p []byte, i int) {
	r.state = stText
	if r.kind == tkOther && !r.keep && !r.pendingHead && (!r.endTag || r.phase != phHead) {
		return // an ordinary tag: nothing to do
	}
	if r.endTag {
		if r.rawClose {
			r.rawClose = false
		} else if r.phase == phHead {
			r.inject(true, 0) // </head>, or an end tag that implies it
		}
		if r.kind == tkTemplate && r.template > 0 {
			r.template--
		}
		return
	}
	if r.keep {
		r.keep = false
		var tok []byte
		ok := true
		if r.tokStart >= 0 {
			r.flushTo(r.tokStart)
			tok = p[r.tokStart : i+1]
		} else if len(r.tagBuf)+i+1 <= maxTagSize {
			r.tagBuf = append(r.tagBuf, p[:i+1]...)
			tok = r.tagBuf
		} else {
			r.release()
			ok = false
		}
		if ok {
			switch r.kind {
			case tkLink:
				r.handleLink(tok)
			case tkMeta:
				r.handleMeta(tok)
			case tkBase:
				r.handleBase(tok)
			}
			r.emitted = i + 1
			r.tagBuf = r.tagBuf[:0]
		}
	}
	if r.pendingHead {
		r.pendingHead = false
		if r.phase < phDone {
			r.flushTo(i + 1)
			r.startHolding(r.inOff + int64(i) + 1)
		}
	}
	if r.opts.XHTML && r.selfClosing {
		return
	}
	switch k := r.kind; k {
	case tkScript:
		r.state, r.sub = stScript, sdData
	case tkPlaintext:
		r.state = stPlain
	case tkTemplate:
		r.template++
	default:
		if name := rawName(k); name != "" {
			r.state, r.raw, r.match = stRaw, name, -1
		}
	}
}
