package engine

const crashChildEnv = "MCPFLOW_CRASH_CHILD_DIR"

func crashChild() int { return 0 }
