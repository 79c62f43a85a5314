package main

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// nearest returns the candidates closest to word by edit distance, among
// those close enough to be a likely typo (a third of the word's length,
// at least 2 edits), best first.
func nearest(word string, candidates []string) []string {
	limit := max(2, len(word)/3)
	best := limit + 1
	var out []string
	for _, c := range candidates {
		d := editDistance(strings.ToLower(word), strings.ToLower(c))
		if strings.HasPrefix(strings.ToLower(c), strings.ToLower(word)) && len(word) >= 3 {
			d = min(d, 1)
		}
		switch {
		case d < best:
			best, out = d, []string{c}
		case d == best:
			out = append(out, c)
		}
	}
	if best > limit {
		return nil
	}
	return out
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// didYouMean formats a suggestion clause, or "" when there is none.
func didYouMean(options []string) string {
	if len(options) == 0 {
		return ""
	}
	return "; did you mean " + strings.Join(options, " or ") + "?"
}

// commandNames lists the app's command names.
func commandNames(app *cli.App) []string {
	var names []string
	for _, c := range app.Commands {
		names = append(names, c.Names()...)
	}
	return names
}

// flagNames lists a command's flags as typed: "--name" or "-n".
func flagNames(flags []cli.Flag) []string {
	var names []string
	for _, f := range flags {
		for _, n := range f.Names() {
			if len(n) == 1 {
				names = append(names, "-"+n)
			} else {
				names = append(names, "--"+n)
			}
		}
	}
	return names
}

// flagUsageError turns the flag parser's error into a usage error that
// proposes the command's nearest flag.
func flagUsageError(flags []cli.Flag, err error) error {
	msg := err.Error()
	if bad, ok := strings.CutPrefix(msg, "flag provided but not defined: "); ok {
		name := strings.TrimLeft(bad, "-")
		return usagef("unknown flag --%s%s", name, didYouMean(nearest("--"+name, flagNames(flags))))
	}
	return &usageError{msg: msg}
}
