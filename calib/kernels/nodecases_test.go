package kernels

import (
	"math"
	"testing"

	"gorgonia.org/tensor"
)

func TestConvMatchesONNXNodeTests(t *testing.T) {
	runNodeTests(t, []string{"test_conv_with_autopad_same", "test_conv_with_strides_and_asymmetric_padding",
		"test_conv_with_strides_no_padding", "test_conv_with_strides_padding", "test_basic_conv_with_padding",
		"test_basic_conv_without_padding", "test_conv_with_autopad_same"}, func(c nodeCase) ([]*tensor.Dense, error) {
		return one(Conv(c.in[0], c.in[1], inAt(c, 2), ConvParams{Window: window(c), Group: attrI(c, "group", 1)}, 2))
	})
}

func TestConvTransposeMatchesONNXNodeTests(t *testing.T) {
	runNodeTests(t, []string{"test_convtranspose", "test_convtranspose_1d", "test_convtranspose_3d",
		"test_convtranspose_autopad_same", "test_convtranspose_dilations", "test_convtranspose_kernel_shape",
		"test_convtranspose_output_shape", "test_convtranspose_pad", "test_convtranspose_pads"}, func(c nodeCase) ([]*tensor.Dense, error) {
		return one(ConvTranspose(c.in[0], c.in[1], inAt(c, 2), ConvTransposeParams{Window: window(c), Group: attrI(c, "group", 1),
			OutputPadding: attrInts(c, "output_padding"), OutputShape: attrInts(c, "output_shape")}, 2))
	})
}

func TestPoolsMatchONNXNodeTests(t *testing.T) {
	pp := func(c nodeCase) PoolParams {
		return PoolParams{Window: window(c), CeilMode: attrI(c, "ceil_mode", 0) == 1, CountIncludePad: attrI(c, "count_include_pad", 0) == 1}
	}
	runNodeTests(t, []string{"test_maxpool_1d_default", "test_maxpool_2d_ceil", "test_maxpool_2d_default", "test_maxpool_2d_dilations",
		"test_maxpool_2d_pads", "test_maxpool_2d_precomputed_pads", "test_maxpool_2d_precomputed_same_upper",
		"test_maxpool_2d_precomputed_strides", "test_maxpool_2d_same_lower", "test_maxpool_2d_same_upper",
		"test_maxpool_2d_strides", "test_maxpool_2d_uint8", "test_maxpool_3d_default"}, func(c nodeCase) ([]*tensor.Dense, error) {
		return one(MaxPool(c.in[0], pp(c)))
	})
	runNodeTests(t, []string{"test_averagepool_1d_default", "test_averagepool_2d_ceil", "test_averagepool_2d_default",
		"test_averagepool_2d_pads", "test_averagepool_2d_pads_count_include_pad", "test_averagepool_2d_precomputed_pads",
		"test_averagepool_2d_precomputed_pads_count_include_pad", "test_averagepool_2d_precomputed_same_upper",
		"test_averagepool_2d_precomputed_strides", "test_averagepool_2d_same_lower", "test_averagepool_2d_same_upper",
		"test_averagepool_2d_strides", "test_averagepool_3d_default"}, func(c nodeCase) ([]*tensor.Dense, error) {
		return one(AveragePool(c.in[0], pp(c)))
	})
	runNodeTests(t, []string{"test_globalaveragepool", "test_globalaveragepool_precomputed"}, func(c nodeCase) ([]*tensor.Dense, error) {
		return one(GlobalAveragePool(c.in[0]))
	})
	runNodeTests(t, []string{"test_globalmaxpool", "test_globalmaxpool_precomputed"}, func(c nodeCase) ([]*tensor.Dense, error) {
		return one(GlobalMaxPool(c.in[0]))
	})
}

func TestGemmAndMatMulMatchONNXNodeTests(t *testing.T) {
	runNodeTests(t, []string{"test_gemm_all_attributes", "test_gemm_alpha", "test_gemm_beta", "test_gemm_default_matrix_bias",
		"test_gemm_default_no_bias", "test_gemm_default_scalar_bias", "test_gemm_default_single_elem_vector_bias",
		"test_gemm_default_vector_bias", "test_gemm_default_zero_bias", "test_gemm_transposeA", "test_gemm_transposeB"},
		func(c nodeCase) ([]*tensor.Dense, error) {
			return one(Gemm(c.in[0], c.in[1], inAt(c, 2), attrI(c, "transA", 0) == 1, attrI(c, "transB", 0) == 1,
				attrF(c, "alpha", 1), attrF(c, "beta", 1), 2))
		})
	runNodeTests(t, []string{"test_matmul_2d", "test_matmul_3d", "test_matmul_4d"}, func(c nodeCase) ([]*tensor.Dense, error) {
		return one(MatMul(c.in[0], c.in[1], 2))
	})
}

func TestNormalizationsMatchONNXNodeTests(t *testing.T) {
	runNodeTests(t, []string{"test_batchnorm_epsilon", "test_batchnorm_example"}, func(c nodeCase) ([]*tensor.Dense, error) {
		return one(BatchNormalization(c.in[0], c.in[1], c.in[2], c.in[3], c.in[4], attrF(c, "epsilon", 1e-5)))
	})
	runNodeTests(t, []string{"test_instancenorm_epsilon", "test_instancenorm_example"}, func(c nodeCase) ([]*tensor.Dense, error) {
		return one(InstanceNormalization(c.in[0], c.in[1], c.in[2], attrF(c, "epsilon", 1e-5)))
	})
	var ln []string
	for _, s := range []string{"2d_axis0", "2d_axis1", "2d_axis_negative_1", "2d_axis_negative_2", "3d_axis0_epsilon",
		"3d_axis1_epsilon", "3d_axis2_epsilon", "3d_axis_negative_1_epsilon", "3d_axis_negative_3_epsilon", "4d_axis0",
		"4d_axis1", "4d_axis2", "4d_axis3", "4d_axis_negative_2", "4d_axis_negative_4", "default_axis"} {
		ln = append(ln, "test_layer_normalization_"+s)
	}
	runNodeTests(t, ln, func(c nodeCase) ([]*tensor.Dense, error) {
		y, m, s, err := LayerNormalization(c.in[0], c.in[1], inAt(c, 2), attrI(c, "axis", -1), attrF(c, "epsilon", 1e-5))
		return []*tensor.Dense{y, m, s}, err
	})
}

func TestSoftmaxMatchesONNXNodeTests(t *testing.T) {
	names := []string{"axis_0", "axis_1", "axis_2", "default_axis", "example", "large_number", "negative_axis"}
	var sm, lsm []string
	for _, n := range names {
		sm = append(sm, "test_softmax_"+n)
		if n != "example" {
			lsm = append(lsm, "test_logsoftmax_"+n)
		}
	}
	runNodeTests(t, sm, func(c nodeCase) ([]*tensor.Dense, error) {
		return one(Softmax(c.in[0], attrI(c, "axis", -1), false))
	})
	runNodeTests(t, append(lsm, "test_logsoftmax_example_1"), func(c nodeCase) ([]*tensor.Dense, error) {
		return one(LogSoftmax(c.in[0], attrI(c, "axis", -1), false))
	})
}

func TestReductionsMatchONNXNodeTests(t *testing.T) {
	var cases []string
	for _, op := range []string{"mean", "sum", "sum_square"} {
		for _, v := range []string{"default_axes_keepdims", "do_not_keepdims", "keepdims", "negative_axes_keepdims"} {
			for _, k := range []string{"example", "random"} {
				cases = append(cases, "test_reduce_"+op+"_"+v+"_"+k)
			}
		}
	}
	cases = append(cases, "test_reduce_sum_empty_axes_input_noop_example")
	runNodeTests(t, cases, func(c nodeCase) ([]*tensor.Dense, error) {
		axes := attrInts(c, "axes")
		if ax := inAt(c, 1); ax != nil {
			var err error
			if axes, err = Ints(ax); err != nil {
				return nil, err
			}
		}
		r := RedMean
		switch {
		case contains(c, "sum_square"):
			r = RedSumSquare
		case contains(c, "sum"):
			r = RedSum
		}
		return one(Reduce(r, c.in[0], axes, attrI(c, "keepdims", 1) == 1, attrI(c, "noop_with_empty_axes", 0) == 1))
	})
	var am []string
	for _, v := range []string{"default_axis", "keepdims", "negative_axis_keepdims", "no_keepdims"} {
		for _, k := range []string{"example", "random"} {
			am = append(am, "test_argmax_"+v+"_"+k, "test_argmax_"+v+"_"+k+"_select_last_index",
				"test_argmin_"+v+"_"+k, "test_argmin_"+v+"_"+k+"_select_last_index")
		}
	}
	runNodeTests(t, am, func(c nodeCase) ([]*tensor.Dense, error) {
		f := ArgMax
		if contains(c, "argmin") {
			f = ArgMin
		}
		return one(f(c.in[0], attrI(c, "axis", 0), attrI(c, "keepdims", 1) == 1, attrI(c, "select_last_index", 0) == 1))
	})
}

// contains reports whether the node test's name contains s.
func contains(c nodeCase, s string) bool { return c.name != "" && stringsContains(c.name, s) }

func stringsContains(a, b string) bool {
	for i := 0; i+len(b) <= len(a); i++ {
		if a[i:i+len(b)] == b {
			return true
		}
	}
	return false
}

func TestElementwiseMatchesONNXNodeTests(t *testing.T) {
	runNodeTests(t, []string{"test_pow", "test_pow_bcast_array", "test_pow_bcast_scalar", "test_pow_example",
		"test_pow_types_float32_int32", "test_pow_types_float32_int64", "test_pow_types_int64_int64", "test_pow_types_int32_int32"},
		func(c nodeCase) ([]*tensor.Dense, error) { return one(Pow(c.in[0], c.in[1])) })
	runNodeTests(t, []string{"test_hardsigmoid", "test_hardsigmoid_default", "test_hardsigmoid_example"}, func(c nodeCase) ([]*tensor.Dense, error) {
		return one(HardSigmoid(c.in[0], attrF(c, "alpha", 0.2), attrF(c, "beta", 0.5)))
	})
	runNodeTests(t, []string{"test_hardswish"}, func(c nodeCase) ([]*tensor.Dense, error) { return one(HardSwish(c.in[0])) })
	runNodeTests(t, []string{"test_clip", "test_clip_default_inbounds", "test_clip_default_int8_inbounds", "test_clip_default_int8_max",
		"test_clip_default_int8_min", "test_clip_default_max", "test_clip_default_min", "test_clip_example", "test_clip_inbounds",
		"test_clip_outbounds", "test_clip_splitbounds"}, func(c nodeCase) ([]*tensor.Dense, error) {
		lo, hi := math.Inf(-1), math.Inf(1)
		if d := inAt(c, 1); d != nil {
			v, _ := Cast(d, tensor.Float64)
			lo = raw(v).([]float64)[0]
		}
		if d := inAt(c, 2); d != nil {
			v, _ := Cast(d, tensor.Float64)
			hi = raw(v).([]float64)[0]
		}
		return one(Clip(c.in[0], lo, hi))
	})
	runNodeTests(t, []string{"test_where_example", "test_where_long_example"}, func(c nodeCase) ([]*tensor.Dense, error) {
		return one(Where(c.in[0], c.in[1], c.in[2]))
	})
	runNodeTests(t, []string{"test_add_bcast", "test_sub_bcast", "test_mul_bcast", "test_div_bcast", "test_add_uint8"},
		func(c nodeCase) ([]*tensor.Dense, error) {
			f := map[bool]func(a, b *tensor.Dense) (*tensor.Dense, error){}
			switch {
			case contains(c, "add"):
				f[true] = Add
			case contains(c, "sub"):
				f[true] = Sub
			case contains(c, "mul"):
				f[true] = Mul
			default:
				f[true] = Div
			}
			return one(f[true](c.in[0], c.in[1]))
		})
}
