package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// fakeClock advances by step on every reading.
type fakeClock struct {
	t    time.Time
	step time.Duration
}

func (c *fakeClock) now() time.Time {
	c.t = c.t.Add(c.step)
	return c.t
}

func TestProgressOnATerminalShowsCountPercentRateAndTimeLeft(t *testing.T) {
	var buf bytes.Buffer
	clock := &fakeClock{t: time.Unix(0, 0), step: 250 * time.Millisecond}
	p := &progress{w: &buf, tty: true, now: clock.now}
	count := p.counter("calibrate", "samples", nil)
	for done := 0; done <= 4; done++ {
		count(done, 4)
	}
	want := "\r\033[Kcalibrate 0/4 samples   0.0%" +
		"\r\033[Kcalibrate 1/4 samples  25.0% 4.0 samples/s, 750ms left" +
		"\r\033[Kcalibrate 2/4 samples  50.0% 4.0 samples/s, 500ms left" +
		"\r\033[Kcalibrate 3/4 samples  75.0% 4.0 samples/s, 250ms left" +
		"\r\033[Kcalibrate 4/4 samples 100.0% in 1.0s (4.0 samples/s)\n"
	if got := buf.String(); got != want {
		t.Errorf("transcript\n%q\nwant\n%q", got, want)
	}
}

func TestProgressOnATerminalRedrawsAtMostTenTimesASecond(t *testing.T) {
	var buf bytes.Buffer
	clock := &fakeClock{t: time.Unix(0, 0), step: 10 * time.Millisecond}
	p := &progress{w: &buf, tty: true, now: clock.now}
	count := p.counter("eval", "samples", nil)
	for done := 0; done <= 100; done++ {
		count(done, 100)
	}
	// 1 s of work: the start, a redraw per 100 ms, and the end.
	if n := strings.Count(buf.String(), "\r\033[K"); n > 12 || n < 10 {
		t.Errorf("%d redraws:\n%q", n, buf.String())
	}
	if !strings.HasSuffix(buf.String(), "eval 100/100 samples 100.0% in 1.0s (100 samples/s)\n") {
		t.Errorf("last line %q", buf.String())
	}
}

func TestProgressElsewhereIsOneLinePerPhase(t *testing.T) {
	var buf bytes.Buffer
	clock := &fakeClock{t: time.Unix(0, 0), step: 2 * time.Second}
	p := &progress{w: &buf, tty: false, now: clock.now}
	cal := p.counter("calibrate", "samples", nil)
	for done := 0; done <= 3; done++ {
		cal(done, 3)
	}
	ev := p.counter("eval", "samples", nil)
	for done := 0; done <= 2; done++ {
		ev(done, 2)
	}
	want := "calibrate: 3/3 samples in 6.0s (0.5 samples/s)\n" +
		"eval: 2/2 samples in 4.0s (0.5 samples/s)\n"
	if got := buf.String(); got != want {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
}

func TestProgressNamesWhatRunsAndClearsItsLineForStatusLines(t *testing.T) {
	var buf bytes.Buffer
	clock := &fakeClock{t: time.Unix(0, 0), step: time.Second}
	p := &progress{w: &buf, tty: true, now: clock.now}
	running := "a.onnx"
	count := p.counter("batch", "models", func() string { return "running: " + running })
	count(0, 2)
	p.println("[1/2] ok a.onnx")
	running = "b.onnx"
	count(1, 2)
	count(2, 2)
	want := "\r\033[Kbatch 0/2 models   0.0% running: a.onnx" +
		"\r\033[K[1/2] ok a.onnx\n" +
		"\r\033[Kbatch 1/2 models  50.0% 1.0 models/s, 1.0s left running: b.onnx" +
		"\r\033[Kbatch 2/2 models 100.0% in 2.0s (1.0 models/s)\n"
	if got := buf.String(); got != want {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
}
