package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/term"
)

// progress reports counted phases (calibrate, eval, the models of a
// batch) on w. On a terminal one line is redrawn in place with the
// phase, the count, the percentage, the rate and the time left; anywhere
// else (CI logs, files) each phase gives one line when it ends, so logs
// stay short and never hold carriage returns.
type progress struct {
	w   io.Writer
	tty bool
	// now is the clock; tests inject one so transcripts are exact.
	now func() time.Time

	mu sync.Mutex
	// open is true while a terminal line is drawn without its newline.
	open bool
}

// redrawEvery bounds terminal redraws: a fast phase would otherwise spend
// its time writing escape sequences.
const redrawEvery = 100 * time.Millisecond

func newProgress(w io.Writer) *progress {
	tty := false
	if f, ok := w.(*os.File); ok {
		tty = term.IsTerminal(int(f.Fd()))
	}
	return &progress{w: w, tty: tty, now: time.Now}
}

// counter returns the callback of one phase: call it with the number of
// units done out of total, after each unit. label, when not nil, names
// what runs now (the model of a batch).
func (p *progress) counter(phase, unit string, label func() string) func(done, total int) {
	var (
		start, lastDraw time.Time
		startDone, last int
	)
	return func(done, total int) {
		p.mu.Lock()
		defer p.mu.Unlock()
		now := p.now()
		switch {
		case done == 0 && (start.IsZero() || last > 0):
			// The phase starts (again: a second calibration pass).
			start, startDone, lastDraw = now, 0, time.Time{}
			last = 0
			if !p.tty {
				return
			}
		case start.IsZero():
			// A caller that does not announce the start: count from its
			// first unit.
			start, startDone = now, done
		}
		last = done
		elapsed := now.Sub(start)
		finished := done >= total
		rate := 0.0
		if elapsed > 0 {
			rate = float64(done-startDone) / elapsed.Seconds()
		}
		if !p.tty {
			if finished {
				fmt.Fprintf(p.w, "%s: %d/%d %s in %s (%s)\n", phase, done, total, unit, formatDuration(elapsed), formatRate(rate, unit))
			}
			return
		}
		if !finished && !lastDraw.IsZero() && now.Sub(lastDraw) < redrawEvery {
			return
		}
		lastDraw = now
		line := fmt.Sprintf("%s %d/%d %s %5.1f%%", phase, done, total, unit, 100*float64(done)/float64(max(total, 1)))
		switch {
		case finished:
			line += fmt.Sprintf(" in %s (%s)", formatDuration(elapsed), formatRate(rate, unit))
		case rate > 0:
			left := time.Duration(float64(total-done) / rate * float64(time.Second))
			line += fmt.Sprintf(" %s, %s left", formatRate(rate, unit), formatDuration(left))
		}
		if label != nil {
			if l := label(); l != "" && !finished {
				line += " " + l
			}
		}
		fmt.Fprint(p.w, "\r\033[K"+line)
		p.open = !finished
		if finished {
			fmt.Fprintln(p.w)
		}
	}
}

// stages returns the callback of a phase counted in pipeline stages,
// naming the stage that runs next on a terminal.
func (p *progress) stages(phase string) func(stage string, done, total int) {
	last := ""
	count := p.counter(phase, "stages", func() string {
		if last == "" {
			return ""
		}
		return "after " + last
	})
	return func(stage string, done, total int) {
		last = stage
		count(done, total)
	}
}

// println writes a line of its own, first ending a drawn progress line.
func (p *progress) println(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.open {
		fmt.Fprint(p.w, "\r\033[K")
	}
	fmt.Fprintln(p.w, s)
	p.open = false
}

func formatRate(rate float64, unit string) string {
	switch {
	case rate >= 10:
		return fmt.Sprintf("%.0f %s/s", rate, unit)
	case rate > 0 && rate < 0.1:
		return fmt.Sprintf("%.2g %s/s", rate, unit)
	}
	return fmt.Sprintf("%.1f %s/s", rate, unit)
}

// formatDuration prints 850ms, 4.2s, 3m05s, 1h02m.
func formatDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}
