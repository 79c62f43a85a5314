package interp

func shapeOps(t map[string]opBuilder) { viewOps(t); movementOps(t) }

func recurrentOps(t map[string]opBuilder) {}
