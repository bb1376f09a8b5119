"""Pure kernels: deterministic functions of arrays and explicit numbers (no RNG state, no classes)."""
