package dataset_test

import (
	"math"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/onnxquant/onnxquant/internal/dataset"
)

// npyFile builds a version 1.0 .npy file by hand from a descr, a shape
// literal and the raw payload bytes.
func npyFile(descr, shape string, payload []byte) []byte {
	h := "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }\n"
	return append(append([]byte("\x93NUMPY\x01\x00"), byte(len(h)), 0), append([]byte(h), payload...)...)
}

// Payloads written in big-endian order (numpy '>' dtypes) and bool bytes
// other than 0 and 1 must read as the values they encode.
func TestReadNPYByteOrdersAndBools(t *testing.T) {
	dir := t.TempDir()
	for name, tc := range map[string]struct {
		descr, shape string
		payload      []byte
		want         any
	}{
		// 1.5 is 0x3fc00000, -2 is 0xc0000000 in float32.
		"f4-big":    {">f4", "(2,)", []byte{0x3f, 0xc0, 0, 0, 0xc0, 0, 0, 0}, []float32{1.5, -2}},
		"f4-little": {"<f4", "(2,)", []byte{0, 0, 0xc0, 0x3f, 0, 0, 0, 0xc0}, []float32{1.5, -2}},
		// 0.25 is 0x3fd0000000000000 in float64.
		"f8-big": {">f8", "(1,)", []byte{0x3f, 0xd0, 0, 0, 0, 0, 0, 0}, []float64{0.25}},
		"i2-big": {">i2", "(2,)", []byte{0xff, 0xfe, 0x01, 0x00}, []int16{-2, 256}},
		"i4-big": {">i4", "(1, 1)", []byte{0, 0, 1, 2}, []int32{258}},
		"i8-big": {">i8", "(1,)", []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfd}, []int64{-3}},
		"u2-big": {">u2", "(1,)", []byte{0x12, 0x34}, []uint16{0x1234}},
		"u4-big": {">u4", "(1,)", []byte{0x12, 0x34, 0x56, 0x78}, []uint32{0x12345678}},
		"u8-big": {">u8", "(1,)", []byte{1, 0, 0, 0, 0, 0, 0, 2}, []uint64{1<<56 | 2}},
		"i1":     {"|i1", "(3,)", []byte{0x80, 0x7f, 0xff}, []int8{-128, 127, -1}},
		"bool":   {"|b1", "(4,)", []byte{0, 1, 2, 0xff}, []bool{false, true, true, true}},
	} {
		path := filepath.Join(dir, name+".npy")
		if err := os.WriteFile(path, npyFile(tc.descr, tc.shape, tc.payload), 0o644); err != nil {
			t.Fatal(err)
		}
		d, err := dataset.ReadNPY(path)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !reflect.DeepEqual(d.Data(), tc.want) {
			t.Errorf("%s: read %#v, want %#v", name, d.Data(), tc.want)
		}
	}
}

// A big-endian NaN must still be found by the finiteness check, at its
// index, after the bytes are swapped.
func TestBigEndianNaNIsNonFinite(t *testing.T) {
	payload := []byte{0x3f, 0x80, 0, 0, 0x7f, 0xc0, 0, 0} // 1, NaN
	path := filepath.Join(t.TempDir(), "x.npy")
	if err := os.WriteFile(path, npyFile(">f4", "(1, 2)", payload), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := dataset.ReadNPY(path)
	if err != nil {
		t.Fatal(err)
	}
	if v := d.Data().([]float32); v[0] != 1 || !math.IsNaN(float64(v[1])) {
		t.Fatalf("read %v, want [1 NaN]", v)
	}
	se := loadErr(t, open(t, []dataset.InputSpec{{Name: "x", DType: d.Dtype(), Shape: []int{1, 2}}}, path), dataset.ErrNonFinite)
	if se.Sample != path || se.Input != "x" {
		t.Errorf("error %q does not name sample %s and input x", se, path)
	}
}
