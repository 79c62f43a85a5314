package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/onnxquant/onnxquant/internal/dataset"
	"github.com/onnxquant/onnxquant/internal/interp"
	"github.com/onnxquant/onnxquant/lower"
	"github.com/onnxquant/onnxquant/onnxio"
)

func runCommand() *cli.Command {
	cmd := &cli.Command{
		Name:  "run",
		Usage: "run a float model with the built-in interpreter and write every output as <output name>.npy",
		Description: "Each --input is NAME=FILE.npy, or FILE.npy for the next input not named otherwise\n" +
			"(graph input order). A single --input may also be a sample: an .npz, a folder of\n" +
			"<input>.npy files or an ONNX test_data_set folder. Inputs are checked against the\n" +
			"model's declared types and shapes before anything runs.",
		ArgsUsage: "MODEL",
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "input", Aliases: []string{"i"}, Usage: "model input `[NAME=]FILE`; repeatable", Required: true},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "output `FOLDER` (created if missing)", Required: true},
			jobsFlag("intra-op worker threads"),
		},
		Action: runAction,
	}
	cmd.Flags = append(cmd.Flags, limitFlags()...)
	return cmd
}

func runAction(c *cli.Context) error {
	if err := onlyArgs(c, 1, "one model file"); err != nil {
		return err
	}
	if c.Int("jobs") < 1 {
		return usagef("--jobs %d: expected at least 1", c.Int("jobs"))
	}
	limits, err := limitsOf(c)
	if err != nil {
		return err
	}
	model, dir := c.Args().First(), c.String("output")
	gm, err := lower.LoadFile(model)
	if err != nil {
		return err
	}
	setLimits(gm, limits)
	// Every output's file is known before anything runs: name clashes and
	// files the command reads are refused first.
	files, err := runOutputFiles(gm, dir)
	if err != nil {
		return err
	}
	var plan pathPlan
	for _, v := range gm.Graph.OutputNode().Inputs {
		plan.write(fmt.Sprintf("output %q", v.Name), files[v.Name])
	}
	plan.readModel("model", model)
	for _, in := range c.StringSlice("input") {
		if _, file, ok := strings.Cut(in, "="); ok {
			if _, err := os.Stat(in); err != nil {
				in = file
			}
		}
		plan.read("input", in)
	}
	if err := plan.check(); err != nil {
		return err
	}
	specs, err := dataset.ModelInputSpecs(gm)
	if err != nil {
		return fmt.Errorf("model %q: %w", c.Args().First(), err)
	}
	smp, err := loadRunInputs(c.StringSlice("input"), specs, limits)
	if err != nil {
		return err
	}
	it, err := interp.New(gm, interp.Options{Workers: c.Int("jobs")})
	if err != nil {
		return fmt.Errorf("model %q: %w", c.Args().First(), err)
	}
	ctx := c.Context
	if ctx == nil {
		ctx = context.Background()
	}
	outs, err := it.Run(ctx, smp.Inputs, nil)
	if err != nil {
		return fmt.Errorf("model %q: %w", c.Args().First(), err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var staged stagedFiles
	defer staged.abort()
	for _, v := range gm.Graph.OutputNode().Inputs {
		t, ok := outs[v.Name]
		if !ok {
			return fmt.Errorf("model %q: the interpreter returned no output %q", model, v.Name)
		}
		var buf bytes.Buffer
		if err := dataset.EncodeNPY(&buf, t); err != nil {
			return fmt.Errorf("output %q: %w", v.Name, err)
		}
		if err := staged.stage(files[v.Name], buf.Bytes()); err != nil {
			return fmt.Errorf("output %q: %w", v.Name, err)
		}
	}
	if err := staged.commit(ctx); err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "wrote %d output(s) to %s\n", len(files), dir)
	return nil
}

// runOutputFiles maps each graph output to its file in dir, refusing two
// outputs that map to one file.
func runOutputFiles(gm *lower.GraphModule, dir string) (map[string]string, error) {
	files := map[string]string{}
	byFile := map[string]string{}
	for _, v := range gm.Graph.OutputNode().Inputs {
		file := outputFileName(v.Name)
		if prev, dup := byFile[file]; dup && prev != v.Name {
			return nil, fmt.Errorf("outputs %q and %q both map to file %s", prev, v.Name, file)
		}
		byFile[file] = v.Name
		files[v.Name] = filepath.Join(dir, file)
	}
	return files, nil
}

// outputFileName maps an output name to a file name: characters outside
// [A-Za-z0-9_.-] become '_', so names like "/head/Softmax:0" stay inside
// the output folder.
func outputFileName(name string) string {
	b := []byte(name)
	for i, ch := range b {
		ok := ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '_' || ch == '.' || ch == '-'
		if !ok {
			b[i] = '_'
		}
	}
	s := string(b)
	if s == "" || s == "." || s == ".." {
		s = strings.Repeat("_", max(len(s), 1))
	}
	return s + ".npy"
}

// loadRunInputs reads the --input arrays through the data set loader, so
// they get the same dtype, shape and finiteness checks as calibration
// samples. Separate files are linked into a temporary sample folder; errors
// name the file given, not that folder.
func loadRunInputs(args []string, specs []dataset.InputSpec, limits onnxio.Limits) (dataset.Sample, error) {
	if len(args) == 1 && !strings.Contains(args[0], "=") {
		if info, err := os.Stat(args[0]); err == nil && (info.IsDir() || strings.EqualFold(filepath.Ext(args[0]), ".npz") || len(specs) == 1) {
			return loadOne(args[0], specs, limits)
		}
	}
	files, err := assignInputs(args, specs)
	if err != nil {
		return dataset.Sample{}, err
	}
	tmp, err := os.MkdirTemp("", "onnxquant-run-")
	if err != nil {
		return dataset.Sample{}, err
	}
	defer os.RemoveAll(tmp)
	for name, file := range files {
		abs, err := filepath.Abs(file)
		if err != nil {
			return dataset.Sample{}, err
		}
		if _, err := os.Stat(abs); err != nil {
			return dataset.Sample{}, fmt.Errorf("input %q: %w", name, err)
		}
		if err := os.Symlink(abs, filepath.Join(tmp, name+".npy")); err != nil {
			return dataset.Sample{}, fmt.Errorf("input %q: %w", name, err)
		}
	}
	smp, err := loadOne(tmp, specs, limits)
	var se *dataset.SampleError
	if errors.As(err, &se) {
		if f, ok := files[se.Input]; ok {
			se.Sample = f
		} else {
			se.Sample = strings.Join(args, " ")
		}
	}
	return smp, err
}

// loadOne reads the one sample at path, within the budget limits.
func loadOne(path string, specs []dataset.InputSpec, limits onnxio.Limits) (dataset.Sample, error) {
	set, err := dataset.OpenSamples([]string{path}, specs, dataset.Options{Limits: limits})
	if err != nil {
		return dataset.Sample{}, err
	}
	if set.Len() != 1 {
		return dataset.Sample{}, usagef("--input %s holds %d samples; run takes one", path, set.Len())
	}
	return set.Load(0)
}

// assignInputs maps each --input to a model input: NAME=FILE names it,
// a bare FILE takes the next input in graph order not named elsewhere.
func assignInputs(args []string, specs []dataset.InputSpec) (map[string]string, error) {
	known := map[string]bool{}
	for _, s := range specs {
		if strings.ContainsAny(s.Name, `/\`) || s.Name == "" || s.Name == "." || s.Name == ".." {
			return nil, fmt.Errorf("input %q: this name cannot be fed from separate files; pass one .npz or sample folder", s.Name)
		}
		known[s.Name] = true
	}
	files := map[string]string{}
	var bare []string
	for _, a := range args {
		if name, file, ok := strings.Cut(a, "="); ok && known[name] {
			if _, dup := files[name]; dup {
				return nil, usagef("--input: input %q is given twice", name)
			}
			files[name] = file
			continue
		}
		bare = append(bare, a)
	}
	for _, s := range specs {
		if len(bare) == 0 {
			break
		}
		if _, named := files[s.Name]; !named {
			files[s.Name], bare = bare[0], bare[1:]
		}
	}
	if len(bare) > 0 {
		names := make([]string, len(specs))
		for i, s := range specs {
			names[i] = s.Name
		}
		return nil, usagef("--input: %d more file(s) than model inputs (%s)", len(bare), strings.Join(names, ", "))
	}
	return files, nil
}
