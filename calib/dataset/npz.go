package dataset

import (
	"archive/zip"
	"bufio"
	"fmt"
	"path"
	"strings"

	"gorgonia.org/tensor"
)

// readNPZ reads every array of a .npz archive (numpy.savez or savez_compressed),
// keyed by array name: the entry name without its ".npy" suffix.
func readNPZ(file string) (map[string]*tensor.Dense, error) {
	zr, err := zip.OpenReader(file)
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	out := make(map[string]*tensor.Dense, len(zr.File))
	for _, f := range zr.File {
		if f.FileInfo().IsDir() {
			continue
		}
		name := strings.TrimSuffix(path.Base(f.Name), ".npy")
		rc, err := f.Open()
		if err != nil {
			return nil, fmt.Errorf("%s: array %q: %w", file, name, err)
		}
		d, err := decodeNPY(bufio.NewReader(rc), nil)
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: array %q: %w", file, name, err)
		}
		out[name] = d
	}
	return out, nil
}
