package inject

import "bytes"

// This file is the scanner: the tokenizer states the rewriter follows to
// know where tags, comments and raw text begin and end.

// Scanner states (a subset of the WHATWG tokenizer's).
const (
	stText uint8 = iota
	stTagOpen
	stEndTagOpen
	stTagName
	// The attribute states, in a row (see isAttrState).
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

// scan runs the scanner over p.
func (r *Rewriter) scan(p []byte) {
	n := len(p)
	i := 0
	for i < n {
		switch r.state {
		case stText:
			if r.err != nil {
				return
			}
			if r.bodyStarted {
				// Nothing left to edit: Write copies the rest.
				r.passthrough = true
				return
			}
			if r.phase == phDone && !r.skipBody && r.template == 0 && r.inOff+int64(i) != r.lead && !r.noBodyScan {
				// After the injection, in a document scanned whole:
				// skip ordinary tags in one loop.
				if i = bodyScan(p, i); i == n {
					break
				}
			}
			j := bytes.IndexByte(p[i:], '<')
			end := n
			if j >= 0 {
				end = i + j
			}
			// Text at the very start is looked at even when there is no
			// tag to inject (it may be JSON, see textSeen).
			if end > i && (r.phase < phDone || r.inOff+int64(i) == r.lead) {
				r.textSeen(p, i, end)
				if r.passthrough {
					return // not markup: Write copies the rest
				}
			}
			if j < 0 {
				i = n
				break
			}
			r.tokStart, r.tokInOff = end, r.inOff+int64(end)
			r.state = stTagOpen
			i = end + 1
			if i < n {
				i = r.tagFast(p, i)
			}

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
			i = r.scanName(p, i)

		case stBeforeAttr, stAttrName, stAfterAttrName, stBeforeValue, stValueDQ, stValueSQ, stValueUnq, stAfterValueQ, stSelfClosing:
			i = r.scanAttrs(p, i)

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

// tagFast is the fast path for a tag whose '<' is p[i-1]: a start or end
// tag whose name ends within p is named without copying it, and an
// ordinary tag (one whose end needs no action) is skipped to its '>'
// without going back through the state switch for each part. Anything
// else continues in the resumable states. It returns where scanning goes on.
func (r *Rewriter) tagFast(p []byte, i int) int {
	n := len(p)
	s := i
	end := false
	switch c := p[i]; {
	case isAlpha(c):
	case c == '/' && i+1 < n && isAlpha(p[i+1]):
		// The '<' is in p, so no earlier bytes of this token are held.
		end = true
		s++
	default:
		return i // stTagOpen decides
	}
	j := s + 1
	for j < n && !endsName[p[j]] {
		j++
	}
	r.endTag, r.state = end, stTagName
	if j == n {
		// The name goes on in the next Write: the resumable path.
		r.nameLen = 0
		return r.scanName(p, s)
	}
	r.nameLen = j - s
	k := tkOther
	if l := j - s; l >= 3 && l <= 9 && (!end || r.template > 0) {
		k = kindOfFold(p[s:j])
	}
	if k == tkOther && r.phase == phDone {
		// Most tags: what setKind would do, without the call.
		r.kind = k
		if !end {
			r.selfClosing, r.keep = false, false
			if len(r.tagBuf) > 0 {
				r.release()
			}
			if r.template == 0 {
				r.bodyStarted = r.skipBody
			}
		}
	} else {
		r.setKind(k)
	}
	if k == tkOther && !r.keep && !r.pendingHead && (!end || r.phase != phHead) {
		// tagEnd would do nothing but return to text.
		if e, ok := skipAttrs(p, j); ok {
			r.state = stText
			return e
		}
	}
	i = r.afterName(p, j)
	if isAttrState(r.state) && i < n {
		i = r.scanAttrs(p, i)
	}
	return i
}

// skipAttrs follows the attribute states of a tag from p[i], the
// delimiter after its name, to the '>' that ends it, exactly as scanAttrs
// does (names may start with '=', quotes count only as the first byte of
// a value), and returns the index after the '>'. It reports false if p
// ends first; the caller then runs the resumable states from i instead.
func skipAttrs(p []byte, i int) (int, bool) {
	n := len(p)
	var c byte
	var j int
	switch p[i] {
	case '>':
		return i + 1, true
	case '/':
		i++
		goto selfClosing
	}
	i++ // the white space after the name
beforeAttr:
	for ; i < n; i++ {
		switch byteClass[p[i]] {
		case clSpace:
			continue
		case clGT:
			return i + 1, true
		case clSlash:
			i++
			goto selfClosing
		}
		i++ // a name starts, maybe with '='
		goto attrName
	}
	return n, false
attrName:
	for i < n && byteClass[p[i]] == clOther {
		i++
	}
	if i == n {
		return n, false
	}
	switch byteClass[p[i]] {
	case clGT:
		return i + 1, true
	case clSlash:
		i++
		goto selfClosing
	case clEq:
		i++
		goto beforeValue
	}
	// White space after the name: a '=' after it still starts the value;
	// anything else is as before an attribute.
	for i++; i < n && byteClass[p[i]] == clSpace; i++ {
	}
	if i < n && p[i] == '=' {
		i++
		goto beforeValue
	}
	goto beforeAttr
beforeValue:
	for i < n && byteClass[p[i]] == clSpace {
		i++
	}
	if i == n {
		return n, false
	}
	switch c = p[i]; c {
	case '"', '\'':
		j = indexFrom(p, i+1, c)
		if j < 0 {
			return n, false
		}
		i = j + 1
		if i == n {
			return n, false
		}
		switch byteClass[p[i]] {
		case clSpace:
			i++
		case clSlash:
			i++
			goto selfClosing
		case clGT:
			return i + 1, true
		} // anything else starts the next name: reconsumed
		goto beforeAttr
	case '>':
		return i + 1, true
	}
	for i < n && byteClass[p[i]] != clSpace && p[i] != '>' { // unquoted
		i++
	}
	if i == n {
		return n, false
	}
	if p[i] == '>' {
		return i + 1, true
	}
	i++
	goto beforeAttr
selfClosing:
	if i == n {
		return n, false
	}
	if p[i] == '>' {
		return i + 1, true
	}
	goto beforeAttr // reconsumed
}

// scanName reads a tag name from i; when it is complete it runs named and
// moves to the attribute states (or ends the tag). It returns where it
// stopped.
func (r *Rewriter) scanName(p []byte, i int) int {
	n := len(p)
	for i < n {
		c := p[i]
		if cl := byteClass[c]; cl != clOther && cl != clEq {
			break
		}
		if r.nameLen < len(r.name) {
			r.name[r.nameLen] = toLower(c)
		}
		r.nameLen++
		i++
	}
	if i == n {
		return n
	}
	r.named()
	return r.afterName(p, i)
}

// afterName follows the delimiter p[i] after a tag's name: the tag ends,
// turns self-closing, or has attributes. It returns where scanning goes on.
func (r *Rewriter) afterName(p []byte, i int) int {
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

// Byte classes for tag scanning.
const (
	clOther uint8 = iota
	clSpace
	clSlash
	clGT
	clEq
)

var byteClass = func() (t [256]uint8) {
	for _, c := range []byte(" \t\n\r\f") {
		t[c] = clSpace
	}
	t['/'], t['>'], t['='] = clSlash, clGT, clEq
	return t
}()

// scanAttrs runs the attribute states of a tag from i, with the state in
// a local variable (this is the hottest loop), until the '>' that ends the
// tag or the end of p. It returns where it stopped.
func (r *Rewriter) scanAttrs(p []byte, i int) int {
	st := r.state
	n := len(p)
	for i < n {
		c := p[i]
		switch st {
		case stBeforeAttr, stAfterAttrName:
			switch byteClass[c] {
			case clSpace:
			case clSlash:
				st = stSelfClosing
			case clGT:
				r.tagEnd(p, i)
				return i + 1
			case clEq:
				if st == stAfterAttrName {
					st = stBeforeValue
				} else {
					st = stAttrName // a name may start with '='
				}
			default:
				st = stAttrName
			}
			i++
		case stAttrName:
			for byteClass[c] == clOther {
				i++
				if i == n {
					r.state = st
					return n
				}
				c = p[i]
			}
			switch byteClass[c] {
			case clSpace:
				st = stAfterAttrName
			case clSlash:
				st = stSelfClosing
			case clEq:
				st = stBeforeValue
			case clGT:
				r.tagEnd(p, i)
				return i + 1
			}
			i++
		case stBeforeValue:
			switch {
			case byteClass[c] == clSpace:
			case c == '"':
				st = stValueDQ
			case c == '\'':
				st = stValueSQ
			case c == '>':
				r.tagEnd(p, i)
				return i + 1
			default:
				st = stValueUnq
			}
			i++
		case stValueDQ, stValueSQ:
			q := byte('"')
			if st == stValueSQ {
				q = '\''
			}
			j := bytes.IndexByte(p[i:], q)
			if j < 0 {
				r.state = st
				return n
			}
			i += j + 1
			st = stAfterValueQ
		case stValueUnq:
			for byteClass[c] != clSpace && c != '>' {
				i++
				if i == n {
					r.state = st
					return n
				}
				c = p[i]
			}
			if c == '>' {
				r.tagEnd(p, i)
				return i + 1
			}
			st = stBeforeAttr
			i++
		case stAfterValueQ:
			switch byteClass[c] {
			case clSpace:
				st = stBeforeAttr
				i++
			case clSlash:
				st = stSelfClosing
				i++
			case clGT:
				r.tagEnd(p, i)
				return i + 1
			default:
				st = stBeforeAttr // reconsume
			}
		case stSelfClosing:
			if c == '>' {
				r.selfClosing = true
				r.tagEnd(p, i)
				return i + 1
			}
			st = stBeforeAttr // reconsume
		default:
			r.state = st
			return i
		}
	}
	r.state = st
	return i
}

// endsName tells the bytes that end a tag name: white space, '/' and '>'.
var endsName = func() (t [256]bool) {
	for c, cl := range byteClass {
		t[c] = cl != clOther && cl != clEq
	}
	return t
}()

// isAttrState reports whether st is one of the attribute states that
// scanAttrs runs (they are declared in a row).
func isAttrState(st uint8) bool { return st >= stBeforeAttr && st <= stSelfClosing }

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
	return r.afterName(p, i)
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
