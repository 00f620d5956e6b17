"""The HTTP API: one FastAPI app (fer_core.server.app) over the same Analyzer as the CLI, launched by uvicorn in
one process or by Ray Serve across a cluster (fer_core.server.launch)."""
