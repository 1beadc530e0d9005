"""OpenCL device discovery and kernel dispatch, with a numpy fallback."""
