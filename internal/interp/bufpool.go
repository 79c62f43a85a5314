package interp

import (
	"sync"
	"unsafe"

	"gorgonia.org/tensor"

	"github.com/onnxquant/onnxquant/internal/kernels"
)

// NonRetaining is implemented by observers that never keep a tensor (nor
// a slice of its data) past the Value call that shows it. Run reuses the
// memory of values that are dead for those observers (and when there is no
// observer): a fresh multi-megabyte output costs a page fault per page on
// first touch, which on convolutional networks outweighs the arithmetic of
// the cheap element-wise ops. An observer that keeps tensors must not
// implement it, or the tensors it kept would change under it.
type NonRetaining interface {
	Observer
	// DoesNotRetain marks the promise; it is never called.
	DoesNotRetain()
}

// poolable reports whether a Run with obs may recycle buffers.
func poolable(obs Observer) bool {
	if obs == nil {
		return true
	}
	_, ok := obs.(NonRetaining)
	return ok
}

// bufPool recycles the float32 output buffers of the hot kernels within one
// top-level frame, and from one Run to the next through the interpreter's
// idle list. A buffer goes back to the free list only when no slot holds a
// tensor whose memory overlaps it, so views (Reshape, Identity, Squeeze,
// a body returning an outer value, ...) keep their backing buffer alive
// whatever op made them. Buffers reachable from the Run's outputs are
// never freed (output slots are never released) and leave with them.
//
// Only top-level steps allocate from it: a body frame's slots also hold
// its parent's tensors, and the body finishes inside one parent step, so
// whatever it returns is seen (and counted) when the parent stores it.
type bufPool struct {
	free map[int][][]float32 // by length; no slot refers to them
	live []*liveBuf          // handed out, possibly still referenced
	// alloc is the kernels.Alloc bound to this pool, made once.
	alloc kernels.Alloc
}

// liveBuf is a buffer handed out by the pool, with the number of slots
// whose tensor overlaps it.
type liveBuf struct {
	data   []float32
	lo, hi uintptr
	refs   int
}

func newBufPool() *bufPool {
	bp := &bufPool{free: map[int][][]float32{}}
	bp.alloc = bp.get
	return bp
}

// get returns n float32s with unspecified contents: a free buffer of that
// exact length when there is one (shapes repeat from sample to sample, so
// after the first Run nearly every request hits), otherwise a new one.
func (bp *bufPool) get(n int) []float32 {
	var d []float32
	if fl := bp.free[n]; len(fl) > 0 {
		d = fl[len(fl)-1]
		fl[len(fl)-1] = nil
		bp.free[n] = fl[:len(fl)-1]
	} else {
		d = make([]float32, n)
	}
	if n > 0 {
		lo, hi := span(d)
		bp.live = append(bp.live, &liveBuf{data: d, lo: lo, hi: hi})
	}
	return d
}

// span is the address range of a non-empty slice's elements.
func span(d []float32) (lo, hi uintptr) {
	lo = uintptr(unsafe.Pointer(unsafe.SliceData(d)))
	return lo, lo + uintptr(len(d))*4
}

// owner returns the live buffer t's memory overlaps, or nil.
func (bp *bufPool) owner(t *tensor.Dense) *liveBuf {
	if t == nil || len(bp.live) == 0 {
		return nil
	}
	size := t.MemSize()
	if size == 0 {
		return nil
	}
	lo := t.Uintptr()
	hi := lo + size
	for i := len(bp.live) - 1; i >= 0; i-- {
		if b := bp.live[i]; lo < b.hi && b.lo < hi {
			return b
		}
	}
	return nil
}

// hold records that a slot now holds t; it returns the buffer to release
// when the slot is freed (nil when t is not from the pool).
func (bp *bufPool) hold(t *tensor.Dense) *liveBuf {
	b := bp.owner(t)
	if b != nil {
		b.refs++
	}
	return b
}

// release drops one slot's reference to b, recycling b at the last one.
func (bp *bufPool) release(b *liveBuf) {
	b.refs--
	if b.refs > 0 {
		return
	}
	for i, l := range bp.live {
		if l == b {
			last := len(bp.live) - 1
			bp.live[i] = bp.live[last]
			bp.live[last] = nil
			bp.live = bp.live[:last]
			break
		}
	}
	n := len(b.data)
	bp.free[n] = append(bp.free[n], b.data)
}

// sweep forgets buffers handed out during a step that no slot took (a
// kernel that failed, or one that allocated and returned something else):
// they are left to the garbage collector rather than trusted to be unused.
func (bp *bufPool) sweep() {
	keep := bp.live[:0]
	for _, b := range bp.live {
		if b.refs > 0 {
			keep = append(keep, b)
		}
	}
	clear(bp.live[len(keep):])
	bp.live = keep
}

// reset ends a Run: buffers still live belong to the Run's outputs (or to
// an aborted Run) and are forgotten; the free lists stay for the next Run.
func (bp *bufPool) reset() {
	clear(bp.live)
	bp.live = bp.live[:0]
}

// idlePools is the interpreter's cache of bufPools between Runs, one per
// concurrent Run at most. Unlike a sync.Pool it survives garbage
// collections, which would otherwise hand the next Run fresh (faulting)
// memory again.
type idlePools struct {
	mu   sync.Mutex
	list []*bufPool
}

func (ip *idlePools) get() *bufPool {
	ip.mu.Lock()
	defer ip.mu.Unlock()
	if n := len(ip.list); n > 0 {
		bp := ip.list[n-1]
		ip.list[n-1] = nil
		ip.list = ip.list[:n-1]
		return bp
	}
	return newBufPool()
}

func (ip *idlePools) put(bp *bufPool) {
	bp.reset()
	ip.mu.Lock()
	ip.list = append(ip.list, bp)
	ip.mu.Unlock()
}
