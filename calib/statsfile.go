package calib

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/onnxquant/onnxquant/calib/observe"
	"github.com/onnxquant/onnxquant/onnxio"
)

// StatsVersion is written into every stats file; Load rejects others.
const StatsVersion = 1

// statsFile is the JSON form of Stats. Observers are listed by ascending
// id and encoding/json sorts map keys, so equal Stats give equal bytes:
// shards can be compared and merged with plain file tools.
type statsFile struct {
	Version   int             `json:"version"`
	Samples   int             `json:"samples"`
	Requests  []Request       `json:"requests"`
	Observers []observerEntry `json:"observers"`
	Coverage  map[string]int  `json:"coverage"`
	// Paths describes when each conditional submodule runs, so a merge of
	// shards can report uncovered paths without the model at hand.
	Paths []UncoveredPath `json:"paths,omitempty"`
	// Source is Stats.Source.
	Source map[string]string `json:"source,omitempty"`
}

type observerEntry struct {
	ID    int           `json:"id"`
	State observe.State `json:"state"`
}

// MarshalJSON writes the stats file form of st.
func (st *Stats) MarshalJSON() ([]byte, error) {
	f := statsFile{
		Version:  StatsVersion,
		Samples:  st.Samples,
		Requests: st.Requests,
		Coverage: st.Coverage,
		Source:   st.Source,
	}
	if f.Requests == nil {
		f.Requests = []Request{}
	}
	if f.Coverage == nil {
		f.Coverage = map[string]int{}
	}
	ids := make([]int, 0, len(st.Observers))
	for id := range st.Observers {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	f.Observers = make([]observerEntry, 0, len(ids))
	for _, id := range ids {
		f.Observers = append(f.Observers, observerEntry{ID: id, State: st.Observers[id].State()})
	}
	f.Paths = st.pathList()
	return json.Marshal(f)
}

// UnmarshalJSON reads a stats file, rebuilding every observer from its
// state and checking that requests and observers agree.
func (st *Stats) UnmarshalJSON(b []byte) error {
	var f statsFile
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	if f.Version != StatsVersion {
		return fmt.Errorf("stats version %d, want %d", f.Version, StatsVersion)
	}
	if f.Samples < 0 {
		return fmt.Errorf("negative sample count %d", f.Samples)
	}
	out := Stats{Samples: f.Samples, Requests: f.Requests, Observers: map[int]observe.Observer{}, Coverage: f.Coverage, Source: f.Source}
	if out.Coverage == nil {
		out.Coverage = map[string]int{}
	}
	for _, e := range f.Observers {
		if _, dup := out.Observers[e.ID]; dup {
			return fmt.Errorf("observer %d is listed twice", e.ID)
		}
		o, err := observe.FromState(e.State)
		if err != nil {
			return fmt.Errorf("observer %d: %w", e.ID, err)
		}
		out.Observers[e.ID] = o
	}
	seen := map[int]bool{}
	for _, r := range out.Requests {
		if seen[r.ID] {
			return fmt.Errorf("request %d is listed twice", r.ID)
		}
		seen[r.ID] = true
		o, ok := out.Observers[r.ID]
		if !ok {
			return fmt.Errorf("request %d has no observer state", r.ID)
		}
		want, err := r.Spec.Normalize()
		if err != nil {
			return fmt.Errorf("request %d: %w", r.ID, err)
		}
		if o.Spec() != want {
			return fmt.Errorf("observer %d has spec %+v but its request asks for %+v", r.ID, o.Spec(), want)
		}
	}
	if len(out.Observers) != len(out.Requests) {
		return fmt.Errorf("%d observer states for %d requests", len(out.Observers), len(out.Requests))
	}
	for m, n := range out.Coverage {
		if n < 0 || n > out.Samples {
			return fmt.Errorf("coverage of %q is %d with %d samples", m, n, out.Samples)
		}
	}
	if len(f.Paths) > 0 {
		out.paths = map[string]UncoveredPath{}
		for _, p := range f.Paths {
			out.paths[p.Module] = p
		}
	}
	*st = out
	return nil
}

// Save writes st as JSON to path atomically: the data goes to a temporary
// file in the same folder, which is renamed over path only once complete,
// so a failed or interrupted run never leaves a truncated stats file.
func (st *Stats) Save(path string) error {
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("stats %s: %w", path, err)
	}
	return writeAtomic(path, append(b, '\n'))
}

// maxStatsBytes caps a stats file: a few numbers per quantization point,
// far below this for any model.
const maxStatsBytes = 1 << 30

// Load reads a stats file written by Save.
func Load(path string) (*Stats, error) {
	b, err := onnxio.ReadRegular(path, maxStatsBytes)
	if err != nil {
		return nil, err
	}
	st := &Stats{}
	if err := json.Unmarshal(b, st); err != nil {
		return nil, fmt.Errorf("stats %s: %w", path, err)
	}
	return st, nil
}

// writeAtomic writes data to path through a temporary file and a rename.
func writeAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	// CreateTemp makes the file 0600; a stats file is ordinary output.
	if err = os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
