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
			lo = Flat(v).([]float64)[0]
		}
		if d := inAt(c, 2); d != nil {
			v, _ := Cast(d, tensor.Float64)
			hi = Flat(v).([]float64)[0]
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

func TestResizeMatchesONNXNodeTests(t *testing.T) {
	runNodeTests(t, []string{"test_resize_downsample_scales_linear", "test_resize_downsample_scales_linear_align_corners",
		"test_resize_downsample_scales_nearest", "test_resize_downsample_sizes_linear_pytorch_half_pixel",
		"test_resize_downsample_sizes_nearest", "test_resize_upsample_scales_linear", "test_resize_upsample_scales_linear_align_corners",
		"test_resize_upsample_scales_nearest", "test_resize_upsample_sizes_nearest", "test_resize_upsample_sizes_nearest_ceil_half_pixel",
		"test_resize_upsample_sizes_nearest_floor_align_corners", "test_resize_upsample_sizes_nearest_round_prefer_ceil_asymmetric"},
		func(c nodeCase) ([]*tensor.Dense, error) {
			p := ResizeParams{Mode: attrS(c, "mode", ""), CoordinateTransformation: attrS(c, "coordinate_transformation_mode", ""),
				NearestMode: attrS(c, "nearest_mode", "")}
			if s := inAt(c, 2); s != nil {
				p.Scales, _ = Float32s(s)
			}
			if s := inAt(c, 3); s != nil {
				p.Sizes, _ = Ints(s)
			}
			return one(Resize(c.in[0], p))
		})
	runNodeTests(t, []string{"test_upsample_nearest"}, func(c nodeCase) ([]*tensor.Dense, error) {
		s, _ := Float32s(c.in[1])
		return one(Upsample(c.in[0], s, attrS(c, "mode", "")))
	})
}

func TestQuantizationMatchesONNXNodeTests(t *testing.T) {
	runNodeTests(t, []string{"test_quantizelinear", "test_quantizelinear_axis"}, func(c nodeCase) ([]*tensor.Dense, error) {
		return one(QuantizeLinear(c.in[0], c.in[1], inAt(c, 2), attrI(c, "axis", 1), tensor.Uint8))
	})
	runNodeTests(t, []string{"test_dequantizelinear", "test_dequantizelinear_axis"}, func(c nodeCase) ([]*tensor.Dense, error) {
		return one(DequantizeLinear(c.in[0], c.in[1], inAt(c, 2), attrI(c, "axis", 1)))
	})
}

func TestDataMovementMatchesONNXNodeTests(t *testing.T) {
	runNodeTests(t, []string{"test_slice", "test_slice_default_axes", "test_slice_default_steps", "test_slice_end_out_of_bounds",
		"test_slice_neg", "test_slice_neg_steps", "test_slice_negative_axes"}, func(c nodeCase) ([]*tensor.Dense, error) {
		var v [4][]int
		for i := range v {
			v[i], _ = Ints(inAt(c, i+1))
		}
		return one(Slice(c.in[0], v[0], v[1], v[2], v[3]))
	})
	runNodeTests(t, []string{"test_gather_0", "test_gather_1", "test_gather_2d_indices", "test_gather_negative_indices"},
		func(c nodeCase) ([]*tensor.Dense, error) { return one(Gather(c.in[0], c.in[1], attrI(c, "axis", 0))) })
	runNodeTests(t, []string{"test_gather_elements_0", "test_gather_elements_1", "test_gather_elements_negative_indices"},
		func(c nodeCase) ([]*tensor.Dense, error) {
			return one(GatherElements(c.in[0], c.in[1], attrI(c, "axis", 0)))
		})
	var tr []string
	for _, s := range []string{"0", "1", "2", "3", "4", "5"} {
		tr = append(tr, "test_transpose_all_permutations_"+s)
	}
	runNodeTests(t, append(tr, "test_transpose_default"), func(c nodeCase) ([]*tensor.Dense, error) {
		return one(Transpose(c.in[0], attrInts(c, "perm")))
	})
	runNodeTests(t, []string{"test_concat_1d_axis_0", "test_concat_2d_axis_negative_1", "test_concat_3d_axis_1", "test_concat_3d_axis_negative_3"},
		func(c nodeCase) ([]*tensor.Dense, error) { return one(Concat(c.in, attrI(c, "axis", 0))) })
	runNodeTests(t, []string{"test_split_equal_parts_1d", "test_split_equal_parts_2d", "test_split_equal_parts_default_axis",
		"test_split_variable_parts_1d", "test_split_variable_parts_2d", "test_split_variable_parts_default_axis"},
		func(c nodeCase) ([]*tensor.Dense, error) {
			sizes := attrInts(c, "split")
			if s := inAt(c, 1); s != nil {
				sizes, _ = Ints(s)
			}
			return Split(c.in[0], attrI(c, "axis", 0), sizes, len(c.want))
		})
	runNodeTests(t, []string{"test_tile", "test_tile_precomputed"}, func(c nodeCase) ([]*tensor.Dense, error) {
		r, _ := Ints(c.in[1])
		return one(Tile(c.in[0], r))
	})
	runNodeTests(t, []string{"test_expand_dim_changed", "test_expand_dim_unchanged"}, func(c nodeCase) ([]*tensor.Dense, error) {
		s, _ := Ints(c.in[1])
		return one(Expand(c.in[0], s))
	})
	var rs []string
	for _, s := range []string{"extended_dims", "negative_dim", "negative_extended_dims", "one_dim",
		"reduced_dims", "reordered_all_dims", "reordered_last_dims", "zero_and_negative_dim", "zero_dim"} {
		rs = append(rs, "test_reshape_"+s)
	}
	runNodeTests(t, rs, func(c nodeCase) ([]*tensor.Dense, error) {
		s, _ := Ints(c.in[1])
		return one(Reshape(c.in[0], s, attrI(c, "allowzero", 0) == 1))
	})
	runNodeTests(t, []string{"test_depthtospace_crd_mode_example", "test_depthtospace_example"}, func(c nodeCase) ([]*tensor.Dense, error) {
		return one(DepthToSpace(c.in[0], attrI(c, "blocksize", 0), attrS(c, "mode", "DCR")))
	})
	runNodeTests(t, []string{"test_spacetodepth", "test_spacetodepth_example"}, func(c nodeCase) ([]*tensor.Dense, error) {
		return one(SpaceToDepth(c.in[0], attrI(c, "blocksize", 0)))
	})
	runNodeTests(t, []string{"test_cumsum_1d", "test_cumsum_1d_exclusive", "test_cumsum_1d_reverse", "test_cumsum_1d_reverse_exclusive",
		"test_cumsum_2d_axis_0", "test_cumsum_2d_axis_1", "test_cumsum_2d_negative_axis"}, func(c nodeCase) ([]*tensor.Dense, error) {
		a, _ := Ints(c.in[1])
		return one(CumSum(c.in[0], a[0], attrI(c, "exclusive", 0) == 1, attrI(c, "reverse", 0) == 1))
	})
	runNodeTests(t, []string{"test_onehot_negative_indices", "test_onehot_with_axis", "test_onehot_with_negative_axis", "test_onehot_without_axis"},
		func(c nodeCase) ([]*tensor.Dense, error) {
			d, _ := Cast(c.in[1], tensor.Int64)
			dv, _ := Ints(d)
			return one(OneHot(c.in[0], dv[0], c.in[2], attrI(c, "axis", -1)))
		})
	runNodeTests(t, []string{"test_nonzero_example"}, func(c nodeCase) ([]*tensor.Dense, error) { return one(NonZero(c.in[0])) })
	runNodeTests(t, []string{"test_top_k", "test_top_k_negative_axis", "test_top_k_smallest"}, func(c nodeCase) ([]*tensor.Dense, error) {
		k, _ := Ints(c.in[1])
		v, i, err := TopK(c.in[0], k[0], attrI(c, "axis", -1), attrI(c, "largest", 1) == 1)
		return []*tensor.Dense{v, i}, err
	})
	runNodeTests(t, []string{"test_range_float_type_positive_delta", "test_range_int32_type_negative_delta"},
		func(c nodeCase) ([]*tensor.Dense, error) { return one(Range(c.in[0], c.in[1], c.in[2])) })
	runNodeTests(t, []string{"test_constant_pad", "test_edge_pad", "test_reflect_pad"}, func(c nodeCase) ([]*tensor.Dense, error) {
		p, _ := Ints(c.in[1])
		v := 0.0
		if d := inAt(c, 2); d != nil {
			f, _ := Float32s(d)
			v = float64(f[0])
		}
		return one(Pad(c.in[0], p, attrS(c, "mode", "constant"), v, nil))
	})
}
