package testenv

// CorpusCalibSets maps each model of the corpus (models/<name>.onnx) to its
// calibration folders under calib/, from the corpus README: the first is
// the one the corpus's reference outputs come from; silero has one folder
// per code path. Tests that walk the corpus take the list from here, so a
// model added to the corpus is added once.
func CorpusCalibSets() map[string][]string {
	return map[string][]string{
		"mobilenet_v2":        {"imagenet224"},
		"resnet18":            {"imagenet224"},
		"squeezenet1_1":       {"imagenet224"},
		"mobilenet_v3_small":  {"imagenet224"},
		"tiny_transformer":    {"logmel16x40"},
		"branchy_if_loop":     {"branchy"},
		"silero_vad_legacy":   {"silero_legacy_16k", "silero_legacy_8k"},
		"ppocr_mobile_v2_cls": {"ocr_cls48x192"},
		"yolox_nano":          {"yolox416"},
		"ppocr_v3_det":        {"ocr_det256x384"},
		"blazeface_front":     {"face128_nhwc"},
		"oww_melspectrogram":  {"oww_audio1760"},
		"oww_embedding":       {"oww_mel76x32"},
		"oww_hey_jarvis":      {"oww_emb16x96"},
	}
}

// ReferenceFileName is the file name the corpus gives the reference of an
// output (reference/<model>/<sample>/<file>): characters of the output name
// outside [A-Za-z0-9_.-] become '_', and ".npy" is appended.
func ReferenceFileName(output string) string {
	b := []rune(output)
	for i, r := range b {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-') {
			b[i] = '_'
		}
	}
	return string(b) + ".npy"
}
