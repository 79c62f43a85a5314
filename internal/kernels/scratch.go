package kernels

import "sync"

// colPool recycles im2col buffers. A ResNet sample runs some twenty
// convolutions whose column matrices reach several megabytes; allocating
// each afresh makes the runtime zero it (im2col overwrites every element
// anyway) and drives most of the garbage collector's work. The pool holds
// no values that outlive a call, so it is not shared state in any
// observable sense.
var colPool sync.Pool

// getCol returns a buffer of n float32s with unspecified contents.
func getCol(n int) *[]float32 {
	if p, ok := colPool.Get().(*[]float32); ok {
		if cap(*p) >= n {
			*p = (*p)[:n]
			return p
		}
	}
	b := make([]float32, n)
	return &b
}

func putCol(p *[]float32) { colPool.Put(p) }
