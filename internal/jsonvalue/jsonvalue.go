package jsonvalue

import (
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// ErrTrailingData is Decode's error for data after the top-level value.
var ErrTrailingData = errors.New("invalid JSON: data after the top-level value")

// maxDepth is encoding/json's limit on nesting, kept so that both accept
// the same documents.
const maxDepth = 10000

// Decode decodes the one JSON value data holds (whitespace around it is
// allowed) into maps, slices, strings, bools, nil and json.Number: the
// values encoding/json's Decoder makes with UseNumber, and for the same
// inputs (invalid UTF-8 and unpaired surrogates become U+FFFD, a repeated
// member keeps its last value).
//
// It parses by hand rather than through encoding/json because that
// decodes into an interface by reflection and allocates every string and
// number on its own; this copies the document once and takes member names,
// strings without escapes and numbers as slices of that copy
// (BenchmarkDecode: more than twice as fast, with half the allocations). FuzzDecodeLikeEncodingJSON checks
// that both accept the same inputs and make the same values.
func Decode(data []byte) (any, error) {
	p := parser{s: string(data)}
	p.space()
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	p.space()
	if p.i < len(p.s) {
		return nil, ErrTrailingData
	}
	return v, nil
}

type parser struct {
	s     string
	i     int
	depth int
}

// SyntaxError says what is wrong and at which byte offset.
type SyntaxError struct {
	Offset int
	msg    string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("invalid JSON at offset %d: %s", e.Offset, e.msg)
}

func (p *parser) fail(msg string) error { return &SyntaxError{Offset: p.i, msg: msg} }

func (p *parser) unexpected(what string) error {
	if p.i >= len(p.s) {
		return p.fail("unexpected end of input, want " + what)
	}
	return p.fail(fmt.Sprintf("unexpected %q, want %s", p.s[p.i], what))
}

func (p *parser) space() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *parser) value() (any, error) {
	if p.i >= len(p.s) {
		return nil, p.unexpected("a value")
	}
	switch c := p.s[p.i]; {
	case c == '{':
		return p.object()
	case c == '[':
		return p.array()
	case c == '"':
		return p.str()
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	case p.literal("true"):
		return true, nil
	case p.literal("false"):
		return false, nil
	case p.literal("null"):
		return nil, nil
	}
	return nil, p.unexpected("a value")
}

func (p *parser) literal(word string) bool {
	if len(p.s)-p.i >= len(word) && p.s[p.i:p.i+len(word)] == word {
		p.i += len(word)
		return true
	}
	return false
}

func (p *parser) enter() error {
	if p.depth++; p.depth > maxDepth {
		return p.fail("nested too deeply")
	}
	return nil
}

func (p *parser) object() (any, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	p.i++ // {
	m := map[string]any{}
	p.space()
	if p.i < len(p.s) && p.s[p.i] == '}' {
		p.i++
		p.depth--
		return m, nil
	}
	for {
		if p.i >= len(p.s) || p.s[p.i] != '"' {
			return nil, p.unexpected("a member name")
		}
		k, err := p.str()
		if err != nil {
			return nil, err
		}
		p.space()
		if p.i >= len(p.s) || p.s[p.i] != ':' {
			return nil, p.unexpected("':'")
		}
		p.i++
		p.space()
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		m[k] = v
		p.space()
		if p.i < len(p.s) && p.s[p.i] == ',' {
			p.i++
			p.space()
			continue
		}
		if p.i < len(p.s) && p.s[p.i] == '}' {
			p.i++
			p.depth--
			return m, nil
		}
		return nil, p.unexpected("',' or '}'")
	}
}

func (p *parser) array() (any, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	p.i++ // [
	a := []any{}
	p.space()
	if p.i < len(p.s) && p.s[p.i] == ']' {
		p.i++
		p.depth--
		return a, nil
	}
	for {
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		a = append(a, v)
		p.space()
		if p.i < len(p.s) && p.s[p.i] == ',' {
			p.i++
			p.space()
			continue
		}
		if p.i < len(p.s) && p.s[p.i] == ']' {
			p.i++
			p.depth--
			return a, nil
		}
		return nil, p.unexpected("',' or ']'")
	}
}

// number takes the JSON number at p.i as it is written.
func (p *parser) number() (any, error) {
	n, ok := numberLen(p.s[p.i:])
	if !ok {
		p.i += n
		return nil, p.unexpected("a digit")
	}
	v := json.Number(p.s[p.i : p.i+n])
	p.i += n
	return v, nil
}

// numberLen measures the JSON number (RFC 8259 section 6) s starts with.
// ok false means s does not start with one; n is then where a digit was
// wanted.
func numberLen(s string) (n int, ok bool) {
	i := 0
	digits := func() int {
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i - start
	}
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case digits() == 0:
		return i, false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return i, false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return i, false
		}
	}
	return i, true
}

// str decodes the string at p.i. One without escapes or invalid UTF-8 is
// a slice of the document; any other is built as encoding/json builds it.
func (p *parser) str() (string, error) {
	p.i++ // opening quote
	start := p.i
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '"':
			p.i++
			return p.s[start : p.i-1], nil
		case c == '\\':
			return p.strSlow(start)
		case c < 0x20:
			return "", p.fail("control character in a string")
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRuneInString(p.s[p.i:])
			if r == utf8.RuneError && size == 1 {
				return p.strSlow(start)
			}
			p.i += size
			continue
		}
		p.i++
	}
	return "", p.unexpected("'\"'")
}

func (p *parser) strSlow(start int) (string, error) {
	b := make([]byte, 0, p.i-start+16)
	b = append(b, p.s[start:p.i]...)
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '"':
			p.i++
			return string(b), nil
		case c < 0x20:
			return "", p.fail("control character in a string")
		case c == '\\':
			p.i++
			if p.i >= len(p.s) {
				return "", p.unexpected("an escape")
			}
			switch e := p.s[p.i]; e {
			case '"', '\\', '/':
				b = append(b, e)
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				r, ok := hex4(p.s[p.i+1:])
				if !ok {
					return "", p.fail(`\u needs four hexadecimal digits`)
				}
				p.i += 4
				if utf16.IsSurrogate(r) {
					// A pair makes one rune; anything else is U+FFFD and
					// what follows is read on its own (encoding/json's way).
					if len(p.s)-p.i > 2 && p.s[p.i+1] == '\\' && p.s[p.i+2] == 'u' {
						if r2, ok := hex4(p.s[p.i+3:]); ok {
							if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
								b = utf8.AppendRune(b, d)
								p.i += 7
								continue
							}
						}
					}
					r = utf8.RuneError
				}
				b = utf8.AppendRune(b, r)
			default:
				return "", p.fail(fmt.Sprintf("invalid escape \\%c", e))
			}
			p.i++
		case c < utf8.RuneSelf:
			b = append(b, c)
			p.i++
		default:
			r, size := utf8.DecodeRuneInString(p.s[p.i:])
			b = utf8.AppendRune(b, r) // invalid UTF-8: U+FFFD per byte
			p.i += size
		}
	}
	return "", p.unexpected("'\"'")
}

// hex4 reads the four hexadecimal digits s starts with.
func hex4(s string) (rune, bool) {
	if len(s) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range []byte(s[:4]) {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}
