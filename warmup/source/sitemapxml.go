package source

import (
	"bufio"
	"encoding/xml"
	"fmt"
)

// Bounds on what one sitemap's XML may make the reader hold, whatever
// the document's size: encoding/xml holds one whole token (a text, a tag,
// a comment) and a stack entry per open element, so those are what is
// bounded.
const (
	// maxToken is the longest token read, whitespace runs aside; a
	// longer one breaks its sitemap.
	maxToken = 1 << 20
	// maxSpaceRun is how many whitespace bytes in a row reach the
	// decoder; the rest of a run is dropped (its lines still counted),
	// so that megabytes of indentation cost nothing. A <loc> with a
	// longer run inside still reads as longer than MaxLoc.
	maxSpaceRun = MaxLoc + 1
	// maxNesting is how deep elements may nest inside a <url> or any
	// other child of the root.
	maxNesting = 32
	// maxField is how much of a <loc>, <lastmod>, <priority> or
	// <changefreq> is kept: room for MaxLoc bytes with a whitespace run
	// on either side.
	maxField = 3 * maxSpaceRun
)

// xmlInput is what the XML decoder reads: it drops whitespace past
// maxSpaceRun in a row, and fails once a token passes maxToken bytes
// (counted from the last mark). The decoder reads it byte by byte
// (io.ByteReader), so it sees exactly what the decoder consumes.
type xmlInput struct {
	r *bufio.Reader
	// space is the length of the whitespace run being read.
	space int
	// dropped counts the newlines dropped, which the decoder's line
	// numbers miss.
	dropped int
	// since counts the bytes passed since mark.
	since int
}

// tokenTooLongError breaks a sitemap with a token over maxToken.
type tokenTooLongError struct{}

func (tokenTooLongError) Error() string {
	return fmt.Sprintf("a tag, text or comment longer than %d bytes", maxToken)
}

// mark starts counting a new token's bytes.
func (x *xmlInput) mark() { x.since = 0 }

func (x *xmlInput) ReadByte() (byte, error) {
	for {
		b, err := x.r.ReadByte()
		if err != nil {
			return 0, err
		}
		if b != ' ' && b != '\n' && b != '\t' && b != '\r' {
			x.space = 0
		} else if x.space++; x.space > maxSpaceRun {
			if b == '\n' {
				x.dropped++
			}
			continue
		}
		if x.since++; x.since > maxToken {
			return 0, tokenTooLongError{}
		}
		return b, nil
	}
}

// Read makes xmlInput an io.Reader; the decoder only calls ReadByte.
func (x *xmlInput) Read(p []byte) (int, error) {
	for i := range p {
		b, err := x.ReadByte()
		if err != nil {
			return i, err
		}
		p[i] = b
	}
	return len(p), nil
}

// token reads the next token, at most maxToken bytes of it.
func (d *sitemapDoc) token() (xml.Token, error) {
	d.in.mark()
	return d.dec.Token()
}

// line is the document's line where the decoder stands.
func (d *sitemapDoc) line() int {
	line, _ := d.dec.InputPos()
	return line + d.in.dropped
}

// skip reads to the end of the element whose start tag was just read,
// no deeper than maxNesting.
func (d *sitemapDoc) skip() error {
	for depth := 1; depth > 0; {
		tok, err := d.token()
		if err != nil {
			return d.xmlErr(err, "ends inside an element")
		}
		switch tok.(type) {
		case xml.StartElement:
			if depth++; depth > maxNesting {
				return d.tooDeep()
			}
		case xml.EndElement:
			depth--
		}
	}
	return nil
}

func (d *sitemapDoc) tooDeep() error {
	return fmt.Errorf("line %d: elements nested more than %d deep", d.line(), maxNesting)
}

// readEntry reads the rest of a <url> or <sitemap> element, keeping the
// text directly inside its <loc>, <lastmod>, <priority> and <changefreq>
// children (as encoding/xml would decode them into strings: a child
// given twice keeps the last, elements inside one are skipped), each
// bounded by maxField.
func (d *sitemapDoc) readEntry() (sitemapEntry, error) {
	var e sitemapEntry
	var field *[]byte
	var name string
	var loc, lastmod, priority, changefreq []byte
	for depth := 1; depth > 0; {
		tok, err := d.token()
		if err != nil {
			return sitemapEntry{}, d.xmlErr(err, "ends inside an element")
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth++; depth > maxNesting {
				return sitemapEntry{}, d.tooDeep()
			}
			if depth != 2 {
				continue
			}
			name = t.Name.Local
			switch name {
			case "loc":
				field = &loc
			case "lastmod":
				field = &lastmod
			case "priority":
				field = &priority
			case "changefreq":
				field = &changefreq
			default:
				field = nil
			}
			if field != nil {
				*field = (*field)[:0]
			}
		case xml.EndElement:
			if depth--; depth == 1 {
				field = nil
			}
		case xml.CharData:
			if depth != 2 || field == nil {
				continue
			}
			if len(*field)+len(t) > maxField {
				*field = append(*field, t[:maxField-len(*field)]...)
				if name != "loc" && e.err == nil {
					// A <loc> past maxField is too long as well, which
					// check says.
					e.err = fmt.Errorf("<%s> longer than %d bytes", name, maxField)
				}
				continue
			}
			*field = append(*field, t...)
		}
	}
	e.Loc, e.Lastmod, e.Priority, e.Changefreq = string(loc), string(lastmod), string(priority), string(changefreq)
	return e, nil
}
