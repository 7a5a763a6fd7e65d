"""gunicorn settings: start the embedded timer worker in each web worker when configured."""

import os

accesslog = "-"
errorlog = "-"
timeout = 60
graceful_timeout = 10


def post_worker_init(worker):  # noqa: ANN001, ANN201
    """Start the in-process timer worker (embedded default; production runs `egovflow worker`)."""
    if os.environ.get("EGOVFLOW_EMBEDDED_WORKER", "1") != "1":
        return
    from processes.scheduler import Worker

    state = worker.wsgi.extensions["egovflow"]
    interval = float(os.environ.get("EGOVFLOW_WORKER_INTERVAL", "5"))
    Worker(state.sessions, state.runtime, interval).start()
