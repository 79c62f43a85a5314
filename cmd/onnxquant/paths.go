package main

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/onnxquant/onnxquant/onnxio"
)

// A command never writes a file it reads, nor two of its outputs to one
// file. Paths are compared after resolving symlinks (a folder linked
// elsewhere, an output that is a link to an input) and by file identity
// (hard links), before any work, so a clash is a usage error that leaves
// everything as it was.

// ownedPath is one path a command reads or writes, with what it is for
// the message.
type ownedPath struct {
	role, path string
	canon      string
	info       fs.FileInfo // nil when the path does not exist (yet)
}

// pathPlan collects the paths of one command (or of a whole batch).
type pathPlan struct {
	reads, writes []ownedPath
}

// canonical resolves path to an absolute path without symlinks; for a path
// that does not exist yet, its nearest existing folder is resolved and the
// rest appended.
func canonical(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return filepath.Clean(path)
	}
	rest := ""
	for cur := abs; ; {
		if r, err := filepath.EvalSymlinks(cur); err == nil {
			return filepath.Join(r, rest)
		}
		parent := filepath.Dir(cur)
		if parent == cur {
			return abs
		}
		rest = filepath.Join(filepath.Base(cur), rest)
		cur = parent
	}
}

func newOwned(role, path string) ownedPath {
	op := ownedPath{role: role, path: path, canon: canonical(path)}
	if info, err := os.Stat(path); err == nil {
		op.info = info
	}
	return op
}

// read records files the command reads; a folder stands for every file
// below it (samples).
func (p *pathPlan) read(role string, paths ...string) {
	for _, path := range paths {
		if path == "" {
			continue
		}
		op := newOwned(role, path)
		if op.info != nil && op.info.IsDir() {
			_ = filepath.WalkDir(path, func(sub string, d fs.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					p.reads = append(p.reads, newOwned(role, sub))
				}
				return nil
			})
			continue
		}
		p.reads = append(p.reads, op)
	}
}

// readModel records a model and, when an output could land in its folder,
// the external data files it refers to.
func (p *pathPlan) readModel(role, path string) {
	p.read(role, path)
	dir := canonical(filepath.Dir(path))
	near := false
	for _, w := range p.writes {
		if strings.HasPrefix(w.canon, dir+string(filepath.Separator)) {
			near = true
		}
	}
	if !near {
		return
	}
	m, err := onnxio.Load(path)
	if err != nil {
		return // the command itself reports the unreadable model
	}
	for _, loc := range onnxio.ExternalLocations(m.Proto) {
		p.read(role+" external data", filepath.Join(filepath.Dir(path), filepath.FromSlash(loc)))
	}
}

// write records a file the command writes.
func (p *pathPlan) write(role, path string) {
	if path != "" {
		p.writes = append(p.writes, newOwned(role, path))
	}
}

func same(a, b ownedPath) bool {
	if a.canon == b.canon {
		return true
	}
	return a.info != nil && b.info != nil && os.SameFile(a.info, b.info)
}

// check returns a usage error for an output that is an input or another
// output.
func (p *pathPlan) check() error {
	for i, w := range p.writes {
		for _, r := range p.reads {
			if same(w, r) {
				return usagef("%s %q is the %s %q: refusing to overwrite a file the command reads", w.role, w.path, r.role, r.path)
			}
		}
		for _, o := range p.writes[:i] {
			if same(w, o) {
				return usagef("%s %q and %s %q are the same file", o.role, o.path, w.role, w.path)
			}
		}
	}
	return nil
}

// stagedFiles are outputs written to temporaries beside their destinations
// and renamed into place only when the whole command has succeeded.
type stagedFiles struct {
	tmp, dst []string
}

// stage writes data to a temporary file in dst's folder.
func (s *stagedFiles) stage(dst string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %q: %w", dst, err)
	}
	s.tmp, s.dst = append(s.tmp, f.Name()), append(s.dst, dst)
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err != nil {
		return fmt.Errorf("write %q: %w", dst, err)
	}
	return nil
}

// commit renames every staged file onto its destination (replacing a
// symlink there rather than writing through it), unless ctx was
// cancelled, in which case nothing is left.
func (s *stagedFiles) commit(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		s.abort()
		return err
	}
	for i, tmp := range s.tmp {
		if err := os.Rename(tmp, s.dst[i]); err != nil {
			// Undo what was renamed so the command leaves nothing.
			for _, d := range s.dst[:i] {
				os.Remove(d)
			}
			s.tmp = s.tmp[i:]
			s.abort()
			return fmt.Errorf("write %q: %w", s.dst[i], err)
		}
	}
	s.tmp = nil
	return nil
}

// abort removes the temporaries not committed.
func (s *stagedFiles) abort() {
	for _, tmp := range s.tmp {
		os.Remove(tmp)
	}
	s.tmp = nil
}

// interrupted reports whether a failed command was stopped by Ctrl-C: once
// the context is cancelled, whatever error a stage returned is a
// consequence of the interruption.
func interrupted(ctx context.Context, err error) bool {
	return err != nil && ctx != nil && ctx.Err() != nil
}
