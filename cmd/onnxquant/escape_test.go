package main

import "testing"

func TestPrintableEscapesWhatTerminalsActOn(t *testing.T) {
	cases := map[string]string{
		"/features/conv1/Conv":  "/features/conv1/Conv",
		`node "a" (Conv)`:       `node "a" (Conv)`,
		"größe":                 "größe",
		"x\x1b[2Jy":             `x\x1b[2Jy`,
		"a\rb\nc":               `a\rb\nc`,
		"bell\x07":              `bell\a`,
		"rtl\u202eexe.onnx":     `rtl\u202eexe.onnx`,
		"bad\xffutf8":           `bad\xffutf8`,
		"c1\u009bcontrol":       `c1\u009bcontrol`,
		"replacement \uFFFD ok": "replacement \uFFFD ok",
	}
	for in, want := range cases {
		if got := printable(in); got != want {
			t.Errorf("printable(%q) = %q, want %q", in, got, want)
		}
	}
	if got := printableLines("line one\x1b[1A\nline two"); got != "line one\\x1b[1A\nline two" {
		t.Errorf("printableLines kept or lost the wrong breaks: %q", got)
	}
}
