package dataset

import (
	"archive/zip"
	"bufio"
	"errors"
	"fmt"
	"path"
	"strings"

	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/onnxio"
)

// errFloat16 is the one message for float16 samples, whatever the file
// format: the interpreter computes in float32 and widening silently would
// hide that the data is not what the model was exported for.
var errFloat16 = errors.New("float16 arrays are not supported (convert with .astype(np.float32))")

// maxInflation bounds a member's declared uncompressed size against its
// compressed size. Deflate cannot exceed about 1032:1, so an honest
// archive (even of zeros) is under it; a zip bomb's declaration is not.
const maxInflation = 1100

// readNPZ reads every array of a .npz archive (numpy.savez or savez_compressed),
// keyed by array name: the entry name without its ".npy" suffix. Members
// are checked by name and declared size before any is inflated: two
// members with the same array name are an error (the archive is
// ambiguous), and so is a member that declares more than the tensor budget
// or inflates beyond what deflate can produce.
//
// Each array is read as how(input) says, input being what inputOf maps its
// name to, so its header is checked against the model's input and the
// budget before the array is inflated.
func readNPZ(file string, how func(input string) npyRead, inputOf func(name string) string) (map[string]*tensor.Dense, error) {
	f, st, err := onnxio.OpenRegular(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := zip.NewReader(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if err := checkNPZMembers(file, zr, how("").limits); err != nil {
		return nil, err
	}
	out := make(map[string]*tensor.Dense, len(zr.File))
	for _, m := range zr.File {
		if m.FileInfo().IsDir() {
			continue
		}
		name := strings.TrimSuffix(path.Base(m.Name), ".npy")
		rc, err := m.Open()
		if err != nil {
			return nil, fmt.Errorf("%s: array %q: %w", file, name, err)
		}
		// archive/zip fails a member that inflates past its declared size.
		read := how(inputOf(name))
		read.f32 = nil
		d, err := decodeNPY(bufio.NewReader(rc), read, int64(m.UncompressedSize64))
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: array %q: %w", file, name, err)
		}
		out[name] = d
	}
	return out, nil
}

// checkNPZMembers checks an archive's members by name and declared size
// before any is inflated: two members holding one array name, a member
// over the tensor budget, or one that inflates beyond what deflate can
// produce are errors.
func checkNPZMembers(file string, zr *zip.Reader, lim onnxio.Limits) error {
	budget := lim.WithDefaults().MaxTensorBytes
	members := map[string]string{}
	for _, m := range zr.File {
		if m.FileInfo().IsDir() {
			continue
		}
		name := strings.TrimSuffix(path.Base(m.Name), ".npy")
		if prev, dup := members[name]; dup {
			return fmt.Errorf("%s: members %q and %q both hold array %q", file, prev, m.Name, name)
		}
		members[name] = m.Name
		if m.UncompressedSize64 > uint64(budget) {
			return fmt.Errorf("%s: array %q declares %d bytes, over the --max-tensor-bytes budget of %d", file, name, m.UncompressedSize64, budget)
		}
		if m.Method != zip.Store && m.UncompressedSize64 > maxInflation*max(m.CompressedSize64, 1) {
			return fmt.Errorf("%s: array %q inflates %d bytes to %d, beyond what deflate produces (a zip bomb?)", file, name, m.CompressedSize64, m.UncompressedSize64)
		}
	}
	return nil
}
