package dataset

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"regexp"
	"strconv"
	"strings"

	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/onnxio"
)

// The .npy format (numpy/lib/format.py): magic, version, header length, a
// Python dict literal describing dtype, order and shape, then the raw data.
// A small reader of our own handles 0-d arrays and every dtype the quantizer
// feeds a model; float16 and object arrays are refused with a clear error.

var npyMagic = []byte("\x93NUMPY")

var (
	descrRe   = regexp.MustCompile(`'descr'\s*:\s*'([^']*)'`)
	fortranRe = regexp.MustCompile(`'fortran_order'\s*:\s*(True|False)`)
	shapeRe   = regexp.MustCompile(`'shape'\s*:\s*\(([^)]*)\)`)
)

// npyTypes maps the dtype letters of a descr (after the byte-order mark) to
// gorgonia dtypes, and back.
var npyTypes = map[string]tensor.Dtype{
	"f4": tensor.Float32, "f8": tensor.Float64,
	"i1": tensor.Int8, "i2": tensor.Int16, "i4": tensor.Int32, "i8": tensor.Int64,
	"u1": tensor.Uint8, "u2": tensor.Uint16, "u4": tensor.Uint32, "u8": tensor.Uint64,
	"b1": tensor.Bool,
}

// ReadNPY reads a .npy file into a Dense. A 0-d array gives a Dense of shape
// (). The array is bounded by the default tensor budget.
func ReadNPY(path string) (*tensor.Dense, error) {
	d, err := readNPY(path, npyRead{})
	var pe *fs.PathError
	if err != nil && !errors.As(err, &pe) {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return d, err
}

// npyRead says how one array is read: the budget it must fit (zero fields
// mean the defaults), where a float32 array's memory comes from (f32, when
// not nil), and what the header must declare (want, when not nil: it sees
// the dtype and shape before any data is read or allocated).
type npyRead struct {
	limits onnxio.Limits
	f32    func(n int) []float32
	want   func(dt tensor.Dtype, shape []int) error
}

// readNPY is ReadNPY without the path in format errors, for callers whose
// errors name the file already. Errors opening the file are *fs.PathError.
func readNPY(path string, how npyRead) (*tensor.Dense, error) {
	f, st, err := onnxio.OpenRegular(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return decodeNPY(bufio.NewReader(f), how, st.Size())
}

// decodeNPY reads one .npy stream of size bytes. The header's dtype and
// shape are checked against what the caller wants, then against the bytes
// the stream holds and the tensor budget, all before the array is
// allocated.
func decodeNPY(r io.Reader, how npyRead, size int64) (*tensor.Dense, error) {
	h, err := readNPYInfo(r)
	if err != nil {
		return nil, err
	}
	if how.want != nil {
		if err := how.want(h.dt, h.shape); err != nil {
			return nil, err
		}
	}
	if _, err := checkPayload(h.shape, h.dt, size-h.headerBytes, how.limits); err != nil {
		return nil, err
	}
	return h.decode(r, h.shape, how)
}

// npyInfo is what a .npy header says about the array after it.
type npyInfo struct {
	dt          tensor.Dtype
	order       binary.ByteOrder
	shape       []int
	headerBytes int64
	// avail is the number of bytes after the header (set by npyInfoOf).
	avail int64
}

// readNPYInfo reads and checks a .npy header (repeated keys included),
// leaving r at the data.
func readNPYInfo(r io.Reader) (npyInfo, error) {
	header, headerBytes, err := readNPYHeader(r)
	if err != nil {
		return npyInfo{}, err
	}
	if err := checkHeaderKeys(header); err != nil {
		return npyInfo{}, err
	}
	dt, order, err := parseDescr(header)
	if err != nil {
		return npyInfo{}, err
	}
	if m := fortranRe.FindStringSubmatch(header); m == nil {
		return npyInfo{}, fmt.Errorf("npy header has no fortran_order: %q", header)
	} else if m[1] == "True" {
		return npyInfo{}, errors.New("fortran-ordered arrays are not supported (save with np.ascontiguousarray)")
	}
	shape, err := parseShape(header)
	if err != nil {
		return npyInfo{}, err
	}
	return npyInfo{dt: dt, order: order, shape: shape, headerBytes: headerBytes}, nil
}

// decode reads an array of the header's dtype and the given shape from r;
// the element count is overflow-checked and within the tensor budget.
func (h npyInfo) decode(r io.Reader, shape []int, how npyRead) (*tensor.Dense, error) {
	n, err := checkPayload(shape, h.dt, -1, how.limits)
	if err != nil {
		return nil, err
	}
	data, raw, err := makeRaw(h.dt, n, how.f32)
	if err != nil {
		return nil, err
	}
	// The payload is read straight into the backing slice's memory and put
	// into host order in place: one read and at most one pass over the data.
	if _, err := io.ReadFull(r, raw); err != nil {
		return nil, fmt.Errorf("reading %v data of shape %v: %w", h.dt, shape, err)
	}
	fromOrder(h.dt, raw, h.order)
	return newDense(shape, data)
}

// readNPYHeader returns the header dict and the number of bytes before
// the array data.
func readNPYHeader(r io.Reader) (string, int64, error) {
	var pre [8]byte
	if _, err := io.ReadFull(r, pre[:]); err != nil {
		return "", 0, fmt.Errorf("not a .npy file: %w", err)
	}
	if !bytes.Equal(pre[:6], npyMagic) {
		return "", 0, errors.New("not a .npy file: bad magic")
	}
	var n, lenBytes int
	switch pre[6] {
	case 1:
		var b [2]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return "", 0, fmt.Errorf("reading npy header length: %w", err)
		}
		n, lenBytes = int(binary.LittleEndian.Uint16(b[:])), 2
	case 2, 3:
		var b [4]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return "", 0, fmt.Errorf("reading npy header length: %w", err)
		}
		n, lenBytes = int(binary.LittleEndian.Uint32(b[:])), 4
	default:
		return "", 0, fmt.Errorf("unsupported npy format version %d.%d", pre[6], pre[7])
	}
	if n > 1<<20 {
		return "", 0, fmt.Errorf("npy header of %d bytes is implausibly large", n)
	}
	h := make([]byte, n)
	if _, err := io.ReadFull(r, h); err != nil {
		return "", 0, fmt.Errorf("reading npy header: %w", err)
	}
	return string(h), int64(len(pre) + lenBytes + n), nil
}

// checkHeaderKeys refuses a header dict that gives a key twice: Python
// keeps the last value of a repeated key and our reader would see the
// first, so the two would read different arrays from the same bytes.
func checkHeaderKeys(header string) error {
	for _, key := range []string{"descr", "fortran_order", "shape"} {
		if c := strings.Count(header, "'"+key+"'"); c > 1 {
			return fmt.Errorf("npy header gives %q %d times: %q", key, c, header)
		}
	}
	return nil
}

// checkPayload returns the element count of shape after checking it for
// overflow, against the tensor budget lim and against avail, the bytes the
// file holds after its header (negative when unknown), so a header cannot
// make the reader allocate more than the file could fill.
func checkPayload(shape []int, dt tensor.Dtype, avail int64, lim onnxio.Limits) (int, error) {
	n, err := onnxio.ElemCountInts(shape)
	if err != nil {
		return 0, err
	}
	size := int64(elemSize(dt))
	if err := lim.CheckTensor(shapeInt64(shape), size); err != nil {
		return 0, err
	}
	if avail >= 0 && n*size > avail {
		return 0, fmt.Errorf("header declares %v %v (%d bytes) but only %d bytes of data follow it", dt, shape, n*size, avail)
	}
	return int(n), nil
}

func shapeInt64(shape []int) []int64 {
	out := make([]int64, len(shape))
	for i, d := range shape {
		out[i] = int64(d)
	}
	return out
}

func parseDescr(header string) (tensor.Dtype, binary.ByteOrder, error) {
	m := descrRe.FindStringSubmatch(header)
	if m == nil {
		return tensor.Dtype{}, nil, fmt.Errorf("npy header has no simple descr: %q", header)
	}
	descr := m[1]
	if len(descr) < 3 {
		return tensor.Dtype{}, nil, fmt.Errorf("unsupported npy dtype %q", descr)
	}
	var order binary.ByteOrder
	switch descr[0] {
	case '<', '|', '=':
		order = binary.LittleEndian
	case '>':
		order = binary.BigEndian
	default:
		return tensor.Dtype{}, nil, fmt.Errorf("unsupported npy dtype %q", descr)
	}
	dt, ok := npyTypes[descr[1:]]
	if !ok {
		if descr[1:] == "f2" {
			return tensor.Dtype{}, nil, errFloat16
		}
		return tensor.Dtype{}, nil, fmt.Errorf("unsupported npy dtype %q", descr)
	}
	return dt, order, nil
}

func parseShape(header string) ([]int, error) {
	m := shapeRe.FindStringSubmatch(header)
	if m == nil {
		return nil, fmt.Errorf("npy header has no shape: %q", header)
	}
	shape := []int{}
	for _, f := range strings.Split(m[1], ",") {
		f = strings.TrimSuffix(strings.TrimSpace(f), "L")
		if f == "" {
			continue
		}
		d, err := strconv.Atoi(f)
		if err != nil || d < 0 {
			return nil, fmt.Errorf("bad npy shape (%s)", m[1])
		}
		shape = append(shape, d)
	}
	return shape, nil
}

// WriteNPY writes d as a version 1.0 .npy file that numpy.load reads back
// with the same dtype and shape.
func WriteNPY(path string, d *tensor.Dense) error {
	var buf bytes.Buffer
	if err := encodeNPY(&buf, d); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

// EncodeNPY writes d in the .npy format WriteNPY uses, to w.
func EncodeNPY(w io.Writer, d *tensor.Dense) error { return encodeNPY(w, d) }

func encodeNPY(w io.Writer, d *tensor.Dense) error {
	code := ""
	for c, dt := range npyTypes {
		if dt == d.Dtype() {
			code = c
		}
	}
	if code == "" {
		return fmt.Errorf("cannot write dtype %v to npy", d.Dtype())
	}
	order := "<"
	if elemSize(d.Dtype()) == 1 {
		order = "|"
	}
	dims := make([]string, len(d.Shape()))
	for i, n := range d.Shape() {
		dims[i] = strconv.Itoa(n)
	}
	shape := strings.Join(dims, ", ")
	if len(dims) == 1 {
		shape += ","
	}
	header := fmt.Sprintf("{'descr': '%s%s', 'fortran_order': False, 'shape': (%s), }", order, code, shape)
	// Like numpy (format.py, GROWTH_AXIS_MAX_DIGITS), leave room for the
	// first dimension to grow to 21 digits, then pad with spaces and a newline
	// so the data starts on a 64-byte boundary. The files are then
	// byte-identical to numpy.save's.
	if len(dims) > 0 {
		header += strings.Repeat(" ", max(0, 21-len(dims[0])))
	}
	pad := 64 - (len(npyMagic)+4+len(header)+1)%64
	if pad == 64 {
		pad = 0
	}
	header += strings.Repeat(" ", pad) + "\n"
	if len(header) > 0xffff {
		return fmt.Errorf("npy header too long for version 1.0")
	}
	data, err := backing(d)
	if err != nil {
		return err
	}
	var pre [10]byte
	copy(pre[:], npyMagic)
	pre[6], pre[7] = 1, 0
	binary.LittleEndian.PutUint16(pre[8:], uint16(len(header)))
	if _, err := w.Write(pre[:]); err != nil {
		return err
	}
	if _, err := io.WriteString(w, header); err != nil {
		return err
	}
	return binary.Write(w, binary.LittleEndian, data)
}
