package inject

import (
	"bytes"
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

// crossoriginAttr is what we add to links whose target answers with CORS
// headers. It goes right after the tag name, where an attribute can always
// be added without touching the others (before "/>" it could end up in an
// unquoted value).
var crossoriginAttr = []byte(` crossorigin="anonymous"`)

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

	passthrough bool // not an ASCII-compatible document: copy as is
	closed      bool

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

	onEdit func(edit) // tests: every change to the stream
}

// edit describes one change of the stream: del input bytes at inOff were
// replaced by ins.
type edit struct {
	inOff int64
	del   int
	ins   []byte
	kind  string
}

// Scanner states (a subset of the WHATWG tokenizer's).
const (
	stText uint8 = iota
	stTagOpen
	stEndTagOpen
	stTagName
	stBeforeAttr
	stAttrName
	stAfterAttrName
	stBeforeValue
	stValueDQ
	stValueSQ
	stValueUnq
	stAfterValueQ
	stSelfClosing
	stMarkupOpen
	stMarkupDash
	stComment
	stBogus
	stRaw
	stScript
	stPlain
)

// Comment sub-states.
const (
	cStart uint8 = iota
	cStartDash
	cBody
	cEndDash
	cEnd
	cEndBang
)

// Script data sub-states (the spec's escaped and double-escaped states,
// which decide whether "</script>" ends the script).
const (
	sdData uint8 = iota
	sdLT
	sdEnd
	sdEscStart
	sdEscStartDash
	sdEsc
	sdEscDash
	sdEscDashDash
	sdEscLT
	sdEscEnd
	sdDblStart
	sdDbl
	sdDblDash
	sdDblDashDash
	sdDblLT
	sdDblEnd
)

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

func kindOf(name []byte) tagKind {
	switch string(name) {
	case "html":
		return tkHTML
	case "head":
		return tkHead
	case "meta":
		return tkMeta
	case "link":
		return tkLink
	case "base":
		return tkBase
	case "title":
		return tkTitle
	case "script":
		return tkScript
	case "style":
		return tkStyle
	case "noscript":
		return tkNoscript
	case "template":
		return tkTemplate
	case "textarea":
		return tkTextarea
	case "xmp":
		return tkXmp
	case "iframe":
		return tkIframe
	case "noembed":
		return tkNoembed
	case "noframes":
		return tkNoframes
	case "plaintext":
		return tkPlaintext
	case "basefont":
		return tkBasefont
	case "bgsound":
		return tkBgsound
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
	r := &Rewriter{dst: dst, opts: opts, tokStart: -1}
	if opts.BasePath == "" {
		r.opts.BasePath = DefaultBasePath
	}
	if opts.Tag == nil {
		r.phase = phDone
	}
	if u := opts.PageURL; u != nil && u.Host != "" && (u.Scheme == "http" || u.Scheme == "https") {
		r.needs = newCSPNeeds(u.Scheme, u.Host, r.opts.BasePath, opts.ScriptIntegrity)
		r.co = newOriginSet(u, opts.CrossOriginOrigins)
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

// scan runs the scanner over p.
func (r *Rewriter) scan(p []byte) {
	n := len(p)
	i := 0
	for i < n && r.err == nil {
		switch r.state {
		case stText:
			j := bytes.IndexByte(p[i:], '<')
			end := n
			if j >= 0 {
				end = i + j
			}
			if r.phase < phDone && end > i {
				r.textSeen(p, i, end)
			}
			if j < 0 {
				i = n
				break
			}
			r.tokStart, r.tokInOff = end, r.inOff+int64(end)
			r.state = stTagOpen
			i = end + 1

		case stTagOpen:
			c := p[i]
			switch {
			case isAlpha(c):
				r.endTag, r.nameLen, r.state = false, 0, stTagName
			case c == '/':
				r.release()
				r.state = stEndTagOpen
				i++
			case c == '!':
				r.release()
				r.state = stMarkupOpen
				i++
			case c == '?':
				r.release()
				r.state = stBogus
				i++
			default:
				// A '<' that starts no tag is text.
				if r.phase < phDone {
					r.bodyStartsAtToken()
				}
				r.release()
				r.state = stText
			}

		case stEndTagOpen:
			c := p[i]
			switch {
			case isAlpha(c):
				r.endTag, r.nameLen, r.state = true, 0, stTagName
			case c == '>':
				r.state = stText // "</>" is ignored
				i++
			default:
				r.state = stBogus
			}

		case stTagName:
			for i < n {
				c := p[i]
				if c == '>' || c == '/' || isSpace(c) {
					break
				}
				if r.nameLen < len(r.name) {
					r.name[r.nameLen] = toLower(c)
				}
				r.nameLen++
				i++
			}
			if i == n {
				break
			}
			r.named()
			switch p[i] {
			case '>':
				r.tagEnd(p, i)
			case '/':
				r.state = stSelfClosing
			default:
				r.state = stBeforeAttr
			}
			i++

		case stBeforeAttr:
			for i < n && isSpace(p[i]) {
				i++
			}
			if i == n {
				break
			}
			switch p[i] {
			case '/':
				r.state = stSelfClosing
			case '>':
				r.tagEnd(p, i)
			default:
				r.state = stAttrName
			}
			i++

		case stAttrName:
			for i < n {
				c := p[i]
				if c == '=' || c == '>' || c == '/' || isSpace(c) {
					break
				}
				i++
			}
			if i == n {
				break
			}
			switch p[i] {
			case '=':
				r.state = stBeforeValue
			case '>':
				r.tagEnd(p, i)
			case '/':
				r.state = stSelfClosing
			default:
				r.state = stAfterAttrName
			}
			i++

		case stAfterAttrName:
			for i < n && isSpace(p[i]) {
				i++
			}
			if i == n {
				break
			}
			switch p[i] {
			case '=':
				r.state = stBeforeValue
			case '>':
				r.tagEnd(p, i)
			case '/':
				r.state = stSelfClosing
			default:
				r.state = stAttrName
			}
			i++

		case stBeforeValue:
			for i < n && isSpace(p[i]) {
				i++
			}
			if i == n {
				break
			}
			switch p[i] {
			case '"':
				r.state = stValueDQ
			case '\'':
				r.state = stValueSQ
			case '>':
				r.tagEnd(p, i)
			default:
				r.state = stValueUnq
			}
			i++

		case stValueDQ, stValueSQ:
			q := byte('"')
			if r.state == stValueSQ {
				q = '\''
			}
			j := bytes.IndexByte(p[i:], q)
			if j < 0 {
				i = n
				break
			}
			i += j + 1
			r.state = stAfterValueQ

		case stValueUnq:
			for i < n {
				c := p[i]
				if c == '>' || isSpace(c) {
					break
				}
				i++
			}
			if i == n {
				break
			}
			if p[i] == '>' {
				r.tagEnd(p, i)
			} else {
				r.state = stBeforeAttr
			}
			i++

		case stAfterValueQ:
			switch c := p[i]; {
			case c == '>':
				r.tagEnd(p, i)
				i++
			case c == '/':
				r.state = stSelfClosing
				i++
			case isSpace(c):
				r.state = stBeforeAttr
				i++
			default:
				r.state = stBeforeAttr // reconsume
			}

		case stSelfClosing:
			if p[i] == '>' {
				r.selfClosing = true
				r.tagEnd(p, i)
				i++
			} else {
				r.state = stBeforeAttr // reconsume
			}

		case stMarkupOpen:
			if p[i] == '-' {
				r.state = stMarkupDash
				i++
			} else {
				r.state = stBogus // doctype, CDATA, bogus comment: all end at '>'
			}

		case stMarkupDash:
			if p[i] == '-' {
				r.state, r.sub = stComment, cStart
				i++
			} else {
				r.state = stBogus
			}

		case stComment:
			i = r.scanComment(p, i)

		case stBogus:
			j := bytes.IndexByte(p[i:], '>')
			if j < 0 {
				i = n
				break
			}
			i += j + 1
			r.state = stText

		case stRaw:
			i = r.scanRaw(p, i)

		case stScript:
			i = r.scanScript(p, i)

		case stPlain:
			i = n
		}
	}
}

// scanComment follows the comment states from i; it returns where it
// stopped.
func (r *Rewriter) scanComment(p []byte, i int) int {
	n := len(p)
	for i < n {
		c := p[i]
		switch r.sub {
		case cStart:
			switch c {
			case '-':
				r.sub = cStartDash
				i++
			case '>': // "<!-->"
				r.state = stText
				return i + 1
			default:
				r.sub = cBody
			}
		case cStartDash:
			switch c {
			case '-':
				r.sub = cEnd
				i++
			case '>': // "<!--->"
				r.state = stText
				return i + 1
			default:
				r.sub = cBody
			}
		case cBody:
			j := bytes.IndexByte(p[i:], '-')
			if j < 0 {
				return n
			}
			i += j + 1
			r.sub = cEndDash
		case cEndDash:
			if c == '-' {
				r.sub = cEnd
				i++
			} else {
				r.sub = cBody
			}
		case cEnd:
			switch c {
			case '>':
				r.state = stText
				return i + 1
			case '!':
				r.sub = cEndBang
				i++
			case '-':
				i++
			default:
				r.sub = cBody
			}
		case cEndBang:
			switch c {
			case '-':
				r.sub = cEndDash
				i++
			case '>':
				r.state = stText
				return i + 1
			default:
				r.sub = cBody
			}
		}
	}
	return i
}

// scanRaw looks for the end tag of a raw-text or RCDATA element.
// r.match is -1 while looking for '<', then 0 after '<', then 1 + the
// number of name characters matched after "</".
func (r *Rewriter) scanRaw(p []byte, i int) int {
	n := len(p)
	for i < n {
		if r.match < 0 {
			j := bytes.IndexByte(p[i:], '<')
			if j < 0 {
				return n
			}
			i += j + 1
			r.match = 0
			continue
		}
		c := p[i]
		if r.match == 0 {
			if c == '/' {
				r.match = 1
				i++
			} else {
				r.match = -1 // reconsume: c may be another '<'
			}
			continue
		}
		if k := r.match - 1; k < len(r.raw) {
			if toLower(c) == r.raw[k] {
				r.match++
				i++
			} else {
				r.match = -1
			}
			continue
		}
		if c == '>' || c == '/' || isSpace(c) {
			r.match = -1
			return r.rawEndTag(p, i)
		}
		r.match = -1
	}
	return i
}

// rawEndTag handles the delimiter after the name of the end tag that
// closes the current raw-text element (p[i]).
func (r *Rewriter) rawEndTag(p []byte, i int) int {
	r.endTag, r.rawClose = true, true
	switch p[i] {
	case '>':
		r.tagEnd(p, i)
	case '/':
		r.state = stSelfClosing
	default:
		r.state = stBeforeAttr
	}
	return i + 1
}

// scanScript follows the script data states, including the escaped and
// double-escaped states that decide whether "</script" ends the script
// (as in `<script><!-- document.write("<script></script>") --></script>`).
func (r *Rewriter) scanScript(p []byte, i int) int {
	const name = "script"
	n := len(p)
	for i < n {
		switch r.sub {
		case sdData:
			j := bytes.IndexByte(p[i:], '<')
			if j < 0 {
				return n
			}
			i += j + 1
			r.sub = sdLT
			continue
		case sdEsc, sdDbl:
			// Fast path through escaped text: only '-' and '<' matter.
			for i < n && p[i] != '-' && p[i] != '<' {
				i++
			}
			if i == n {
				return n
			}
		}
		c := p[i]
		switch r.sub {
		case sdLT:
			switch c {
			case '/':
				r.sub, r.match = sdEnd, 0
				i++
			case '!':
				r.sub = sdEscStart
				i++
			default:
				r.sub = sdData
			}
		case sdEnd, sdEscEnd:
			if r.match < len(name) {
				if toLower(c) == name[r.match] {
					r.match++
					i++
					continue
				}
			} else if c == '>' || c == '/' || isSpace(c) {
				r.sub = sdData
				return r.rawEndTag(p, i)
			}
			if r.sub == sdEnd {
				r.sub = sdData
			} else {
				r.sub = sdEsc
			}
		case sdEscStart:
			if c == '-' {
				r.sub = sdEscStartDash
				i++
			} else {
				r.sub = sdData
			}
		case sdEscStartDash:
			if c == '-' {
				r.sub = sdEscDashDash
				i++
			} else {
				r.sub = sdData
			}
		case sdEsc:
			if c == '-' {
				r.sub = sdEscDash
			} else {
				r.sub = sdEscLT
			}
			i++
		case sdEscDash:
			switch c {
			case '-':
				r.sub = sdEscDashDash
			case '<':
				r.sub = sdEscLT
			default:
				r.sub = sdEsc
			}
			i++
		case sdEscDashDash:
			switch c {
			case '-':
			case '<':
				r.sub = sdEscLT
			case '>':
				r.sub = sdData
			default:
				r.sub = sdEsc
			}
			i++
		case sdEscLT:
			switch {
			case c == '/':
				r.sub, r.match = sdEscEnd, 0
				i++
			case isAlpha(c):
				r.sub, r.match = sdDblStart, 0
			default:
				r.sub = sdEsc
			}
		case sdDblStart, sdDblEnd:
			if r.match < len(name) && toLower(c) == name[r.match] {
				r.match++
				i++
				continue
			}
			if r.match == len(name) && (c == '>' || c == '/' || isSpace(c)) {
				// "<script" opens a double-escaped section; "</script"
				// closes it.
				if r.sub == sdDblStart {
					r.sub = sdDbl
				} else {
					r.sub = sdEsc
				}
				i++
				continue
			}
			if r.sub == sdDblStart {
				r.sub = sdEsc
			} else {
				r.sub = sdDbl
			}
		case sdDbl:
			if c == '-' {
				r.sub = sdDblDash
			} else {
				r.sub = sdDblLT
			}
			i++
		case sdDblDash:
			switch c {
			case '-':
				r.sub = sdDblDashDash
			case '<':
				r.sub = sdDblLT
			default:
				r.sub = sdDbl
			}
			i++
		case sdDblDashDash:
			switch c {
			case '-':
			case '<':
				r.sub = sdDblLT
			case '>':
				r.sub = sdData
			default:
				r.sub = sdDbl
			}
			i++
		case sdDblLT:
			if c == '/' {
				r.sub, r.match = sdDblEnd, 0
				i++
			} else {
				r.sub = sdDbl
			}
		}
	}
	return i
}

// textSeen looks at text p[i:end] before the injection: the first
// character that is not white space (nor a leading byte order mark) starts
// the body, so the tag goes before it at the latest.
func (r *Rewriter) textSeen(p []byte, i, end int) {
	for k := i; k < end; k++ {
		c := p[k]
		if isSpace(c) {
			continue
		}
		if off := r.inOff + int64(k); off < 3 && off == r.bomLen && c == "\xEF\xBB\xBF"[off] {
			r.bomLen++
			continue
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
	name := r.name[:0]
	if r.nameLen <= len(r.name) {
		name = r.name[:r.nameLen]
	}
	k := kindOf(name)
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
	switch k {
	case tkLink:
		r.keep = r.co != nil && r.template == 0
	case tkMeta:
		r.keep = r.phase == phHead || (r.needs != nil && r.injected)
	case tkBase:
		r.keep = r.co != nil && !r.baseSeen
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

// handleLink adds crossorigin to a stylesheet link or font/style preload
// whose target answers with CORS headers.
func (r *Rewriter) handleLink(tok []byte) {
	var rel, as, href []byte
	var hasRel, hasAs, hasHref, hasCO bool
	it := attrIter{b: tok, i: 1 + r.nameLen}
	for it.next() {
		switch {
		case equalFoldASCII(it.name, "rel") && !hasRel:
			rel, hasRel = it.val, true
		case equalFoldASCII(it.name, "as") && !hasAs:
			as, hasAs = it.val, true
		case equalFoldASCII(it.name, "href") && !hasHref:
			href, hasHref = it.val, true
		case equalFoldASCII(it.name, "crossorigin"):
			hasCO = true
		}
	}
	if hasCO || !relWantsCORS(rel, as) || !r.hrefAllowed(href) {
		r.out(tok)
		return
	}
	k := 1 + r.nameLen
	r.out(tok[:k])
	r.insert(crossoriginAttr, r.tokInOff+int64(k), 0, "crossorigin")
	r.out(tok[k:])
}

// relWantsCORS reports whether a link is a stylesheet, a font preload or a
// style preload. Style preloads are included so that a preload and its
// stylesheet keep the same CORS mode (otherwise the browser cannot reuse
// the preloaded response and fetches the stylesheet twice).
func relWantsCORS(rel, as []byte) bool {
	preload := false
	for len(rel) > 0 {
		var tok []byte
		tok, rel = nextField(rel)
		switch {
		case equalFoldASCII(tok, "stylesheet"):
			return true
		case equalFoldASCII(tok, "preload"):
			preload = true
		}
	}
	if preload {
		as = trimSpace(as)
		return equalFoldASCII(as, "font") || equalFoldASCII(as, "style")
	}
	return false
}

// handleMeta detects <meta charset> (where the tag goes while in <head>)
// and amends <meta http-equiv=Content-Security-Policy>.
func (r *Rewriter) handleMeta(tok []byte) {
	var equiv, content []byte
	var hasCharset, hasEquiv, hasContent bool
	var cs, ce int
	var cq byte
	it := attrIter{b: tok, i: 1 + r.nameLen}
	for it.next() {
		switch {
		case equalFoldASCII(it.name, "charset"):
			hasCharset = true
		case equalFoldASCII(it.name, "http-equiv") && !hasEquiv:
			equiv, hasEquiv = trimSpace(it.val), true
		case equalFoldASCII(it.name, "content") && !hasContent:
			content, hasContent = it.val, true
			cs, ce, cq = it.vs, it.ve, it.q
		}
	}
	charset := hasCharset || (equalFoldASCII(equiv, "content-type") && containsFold(content, "charset="))
	edited := false
	if hasContent && equalFoldASCII(equiv, "content-security-policy") && r.needs != nil && r.opts.Tag != nil {
		edited = r.amendMetaCSP(tok, content, cs, ce, cq)
	}
	if !edited {
		r.out(tok)
	}
	if charset && r.phase == phHead {
		r.inject(false, r.tokInOff+int64(len(tok)))
	}
}

// amendMetaCSP amends the policy of a <meta http-equiv> tag and emits the
// tag; it reports false (and emits nothing) when nothing changed.
func (r *Rewriter) amendMetaCSP(tok, content []byte, cs, ce int, q byte) bool {
	if r.phase == phDone && !r.injected {
		return false // no recorder in this page
	}
	value := string(content)
	if bytes.IndexByte(content, '&') >= 0 {
		value = unescapeAttr(value)
	}
	pol := parseCSP(value)
	if r.phase < phDone {
		// Our tag is not written yet: this policy may apply to it.
		r.policies = append(r.policies, pol)
		r.tc, _ = decideTag(r.policies, r.needs, r.tc)
	}
	pol.amend(r.needs, r.tc)
	if !pol.changed {
		return false
	}
	repl := escapeAttr(pol.String(), q)
	if q == 0 {
		repl = `"` + repl + `"`
	}
	r.out(tok[:cs])
	r.insert([]byte(repl), r.tokInOff+int64(cs), ce-cs, "csp")
	r.out(tok[ce:])
	return true
}

// handleBase records the first <base href>: later relative link URLs are
// resolved against it, as the browser does.
func (r *Rewriter) handleBase(tok []byte) {
	r.out(tok)
	it := attrIter{b: tok, i: 1 + r.nameLen}
	for it.next() {
		if !equalFoldASCII(it.name, "href") {
			continue
		}
		r.baseSeen = true
		if u, err := r.base.Parse(cleanURL(string(it.val))); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
			r.base = u
			r.baseOK = r.co.allows(u.Scheme, u.Host)
		}
		return
	}
}

// hrefAllowed reports whether a link URL (an attribute value, still
// escaped) points to an origin that answers with CORS: the page's own or
// one the operator listed. Common URL shapes are checked without
// allocating; anything unusual goes through net/url.
func (r *Rewriter) hrefAllowed(href []byte) bool {
	h := trimSpace(href)
	if len(h) == 0 {
		return false
	}
	for _, c := range h {
		if c == '&' || c == '\\' || c == '\t' || c == '\n' || c == '\r' || c < 0x20 {
			return r.hrefAllowedSlow(h)
		}
	}
	if sl := schemeLen(h); sl > 0 {
		s, rest := h[:sl], h[sl+1:]
		if !equalFoldASCII(s, "http") && !equalFoldASCII(s, "https") {
			return false // data:, blob:, javascript: ... are not fetched with CORS
		}
		if len(rest) < 2 || rest[0] != '/' || rest[1] != '/' {
			return r.hrefAllowedSlow(h)
		}
		hp := authority(rest[2:])
		if !plainHost(hp) {
			return r.hrefAllowedSlow(h)
		}
		return r.co.allowsBytes(s, hp)
	}
	if len(h) >= 2 && h[0] == '/' && h[1] == '/' {
		hp := authority(h[2:])
		if !plainHost(hp) {
			return r.hrefAllowedSlow(h)
		}
		return r.co.allowsBytes([]byte(r.base.Scheme), hp)
	}
	return r.baseOK // relative: the base URL's origin
}

func (r *Rewriter) hrefAllowedSlow(h []byte) bool {
	u, err := r.base.Parse(cleanURL(string(h)))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	return r.co.allows(u.Scheme, u.Host)
}

// cleanURL undoes what the URL parser of browsers forgives and net/url
// does not: character references, tabs and newlines anywhere, and
// backslashes used as slashes.
func cleanURL(s string) string {
	if bytesIndexAnyString(s, "&\t\n\r\\") < 0 {
		return trimSpaceString(s)
	}
	s = unescapeAttr(s)
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\t', '\n', '\r':
		case '\\':
			b = append(b, '/')
		default:
			b = append(b, c)
		}
	}
	return trimSpaceString(string(b))
}

// schemeLen returns the length of a URL scheme at the start of b (before
// ':'), or 0 if b does not start with one.
func schemeLen(b []byte) int {
	if len(b) == 0 || !isAlpha(b[0]) {
		return 0
	}
	for i := 1; i < len(b); i++ {
		c := b[i]
		switch {
		case isAlpha(c), c >= '0' && c <= '9', c == '+', c == '-', c == '.':
		case c == ':':
			return i
		default:
			return 0
		}
	}
	return 0
}

// authority returns the host[:port] part at the start of b.
func authority(b []byte) []byte {
	for i, c := range b {
		if c == '/' || c == '?' || c == '#' {
			return b[:i]
		}
	}
	return b
}

// plainHost reports whether hp is a plain ASCII host[:port], which can be
// compared as bytes (no user info, IPv6 literal, percent-encoding or
// international name).
func plainHost(hp []byte) bool {
	if len(hp) == 0 {
		return false
	}
	for _, c := range hp {
		switch {
		case isAlpha(c), c >= '0' && c <= '9', c == '.', c == '-', c == ':', c == '_':
		default:
			return false
		}
	}
	return true
}

// attrIter walks the attributes of a complete tag, following the
// tokenizer's attribute states. It does not allocate.
type attrIter struct {
	b        []byte
	i        int
	name     []byte
	val      []byte
	vs, ve   int  // value bounds in b (without quotes)
	q        byte // quote character, 0 if unquoted or no value
	hasValue bool
}

func (it *attrIter) next() bool {
	b := it.b
	i := it.i
	for i < len(b) && (isSpace(b[i]) || b[i] == '/') {
		i++
	}
	if i >= len(b) || b[i] == '>' {
		it.i = i
		return false
	}
	ns := i
	i++ // the first character may be '='
	for i < len(b) && b[i] != '=' && b[i] != '>' && b[i] != '/' && !isSpace(b[i]) {
		i++
	}
	it.name = b[ns:i]
	it.val, it.q, it.hasValue, it.vs, it.ve = nil, 0, false, i, i
	j := i
	for j < len(b) && isSpace(b[j]) {
		j++
	}
	if j < len(b) && b[j] == '=' {
		j++
		for j < len(b) && isSpace(b[j]) {
			j++
		}
		it.hasValue = true
		switch {
		case j < len(b) && (b[j] == '"' || b[j] == '\''):
			q := b[j]
			e := bytes.IndexByte(b[j+1:], q)
			if e < 0 {
				e = len(b) - j - 1
			}
			it.q, it.vs, it.ve = q, j+1, j+1+e
			i = it.ve + 1
		case j < len(b) && b[j] == '>':
			it.vs, it.ve = j, j
			i = j
		default:
			s := j
			for j < len(b) && b[j] != '>' && !isSpace(b[j]) {
				j++
			}
			it.vs, it.ve = s, j
			i = j
		}
		it.val = b[it.vs:it.ve]
	}
	it.i = i
	return true
}

func isAlpha(c byte) bool { return (c|0x20) >= 'a' && (c|0x20) <= 'z' }

func isSpace(c byte) bool {
	return c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f'
}

func toLower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// equalFoldASCII compares bytes with an ASCII string, ignoring case.
func equalFoldASCII(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		if toLower(b[i]) != s[i] {
			return false
		}
	}
	return true
}

// containsFold reports whether b contains the lower-case ASCII string s,
// ignoring case.
func containsFold(b []byte, s string) bool {
	for i := 0; i+len(s) <= len(b); i++ {
		if equalFoldASCII(b[i:i+len(s)], s) {
			return true
		}
	}
	return false
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (isSpace(b[0]) || b[0] < 0x20) {
		b = b[1:]
	}
	for len(b) > 0 && (isSpace(b[len(b)-1]) || b[len(b)-1] < 0x20) {
		b = b[:len(b)-1]
	}
	return b
}

func trimSpaceString(s string) string {
	for len(s) > 0 && s[0] <= ' ' {
		s = s[1:]
	}
	for len(s) > 0 && s[len(s)-1] <= ' ' {
		s = s[:len(s)-1]
	}
	return s
}

func bytesIndexAnyString(s, chars string) int {
	for i := 0; i < len(s); i++ {
		for j := 0; j < len(chars); j++ {
			if s[i] == chars[j] {
				return i
			}
		}
	}
	return -1
}

// nextField splits the first white-space separated field off b.
func nextField(b []byte) (field, rest []byte) {
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	i := 0
	for i < len(b) && !isSpace(b[i]) {
		i++
	}
	return b[:i], b[i:]
}
