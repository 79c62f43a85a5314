package main

import (
	"strings"

	"github.com/urfave/cli/v2"

	nearestpkg "github.com/onnxquant/onnxquant/internal/nearest"
)

// nearest proposes the candidates closest to a mistyped word.
func nearest(word string, candidates []string) []string { return nearestpkg.Names(word, candidates) }

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
