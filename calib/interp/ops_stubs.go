package interp

func shapeOps(t map[string]opBuilder) { viewOps(t) }

func reduceOps(t map[string]opBuilder)    {}
func quantOps(t map[string]opBuilder)     {}
func recurrentOps(t map[string]opBuilder) {}
