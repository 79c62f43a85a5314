package main

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/term"
)

// progressPrinter reports progress on w: a redrawn line on a terminal,
// otherwise one plain line per tenth of the work, so CI logs stay clean.
func progressPrinter(w io.Writer, what string) func(done, total int) {
	tty := false
	if f, ok := w.(*os.File); ok {
		tty = term.IsTerminal(int(f.Fd()))
	}
	last := -1
	return func(done, total int) {
		if tty {
			fmt.Fprintf(w, "\r%s %d/%d", what, done, total)
			if done == total {
				fmt.Fprintln(w)
			}
			return
		}
		step := done * 10 / total
		if step != last || done == total {
			last = step
			fmt.Fprintf(w, "%s: %d/%d samples\n", what, done, total)
		}
	}
}
