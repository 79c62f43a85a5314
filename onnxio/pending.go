package onnxio

import (
	"os"
	"path/filepath"
)

// pendingFiles are temporaries waiting to be renamed onto their
// destinations; nothing appears under a destination name until commit.
type pendingFiles struct {
	files []pendingFile
	done  bool
}

type pendingFile struct {
	f   *os.File
	dst string
}

// create opens a temporary in dst's folder (so the rename is atomic).
func (p *pendingFiles) create(dst string) (*os.File, error) {
	f, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".tmp*")
	if err != nil {
		return nil, err
	}
	p.files = append(p.files, pendingFile{f, dst})
	return f, nil
}

// commit flushes, closes and renames every file in creation order (data
// files before the model that refers to them).
func (p *pendingFiles) commit() error {
	for _, pf := range p.files {
		if err := pf.f.Sync(); err != nil {
			return err
		}
		if err := pf.f.Chmod(0o644); err != nil {
			return err
		}
		if err := pf.f.Close(); err != nil {
			return err
		}
	}
	for _, pf := range p.files {
		if err := os.Rename(pf.f.Name(), pf.dst); err != nil {
			return err
		}
	}
	p.done = true
	return nil
}

// abort removes temporaries that were not committed.
func (p *pendingFiles) abort() {
	if p.done {
		return
	}
	for _, pf := range p.files {
		pf.f.Close()
		// A temporary already renamed is gone; nothing else can be done
		// about one that cannot be removed.
		_ = os.Remove(pf.f.Name())
	}
}
