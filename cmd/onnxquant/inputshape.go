package main

import (
	"strconv"
	"strings"
)

// parseInputShapes reads --input-shape values: NAME=D,D,... (or DxDx...).
func parseInputShapes(vals []string) (map[string][]int64, error) {
	out := map[string][]int64{}
	for _, v := range vals {
		name, dims, ok := strings.Cut(v, "=")
		if !ok || name == "" || dims == "" {
			return nil, usagef("--input-shape %q: expected NAME=D,D,... (for example x=1,3,48,192)", v)
		}
		var shape []int64
		for _, f := range strings.FieldsFunc(dims, func(r rune) bool { return r == ',' || r == 'x' }) {
			d, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64)
			if err != nil || d < 1 {
				return nil, usagef("--input-shape %q: %q is not a size of at least 1", v, f)
			}
			shape = append(shape, d)
		}
		if _, dup := out[name]; dup {
			return nil, usagef("--input-shape: input %q given twice", name)
		}
		out[name] = shape
	}
	return out, nil
}
