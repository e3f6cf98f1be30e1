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
