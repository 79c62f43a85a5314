// Package onnxquant is the library entry point: it quantizes float ONNX
// models into integer QDQ ONNX models for Arm Ethos-U NPUs.
package onnxquant

// Version is the release version. Outputs record it as their
// producer_version; it carries no commit or date so that the same input
// always gives the same bytes.
const Version = "0.1.0"
