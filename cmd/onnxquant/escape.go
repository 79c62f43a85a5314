package main

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// printable returns s with everything that could drive a terminal written
// as a Go escape: control characters (ESC, CR, LF, BEL, DEL, C1), format
// characters such as bidi overrides, and invalid UTF-8. Names in a model
// are chosen by whoever made the file; printed raw, "\x1b[2J" clears the
// screen and "\nwrote out.onnx" fakes a line. Ordinary text, quotes and
// all, prints as it is.
func printable(s string) string {
	clean := true
	for i, r := range s {
		if !unicode.IsGraphic(r) || (r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD")) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case !unicode.IsGraphic(r):
			q := strconv.QuoteRuneToASCII(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteRune(r)
		}
		i += size
	}
	return b.String()
}

// printableLines is printable for a message of several lines: the line
// breaks the program wrote stay, everything else is escaped.
func printableLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = printable(l)
	}
	return strings.Join(lines, "\n")
}
