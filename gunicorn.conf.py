"""gunicorn settings for `make run`: start conversion workers before the first request.

gunicorn reads this file from the working folder; command-line options still win.
"""

import os
import tempfile

# gunicorn 27 puts one control socket in $XDG_RUNTIME_DIR or ~/.gunicorn for every server of a
# user, so stopping one server deletes it under another. Each server (this master's pid) gets
# its own; GUNICORN_CONTROL_SOCKET names another.
control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET") or os.path.join(
    tempfile.gettempdir(), f"svgai-gunicorn-{os.getpid()}.ctl"
)


def post_worker_init(worker: object) -> None:
    """Warm the conversion pool and the models, and start sweeping abandoned conversions.

    The sweep runs now (a worker that replaces a killed one finds its rows) and then every
    SVGAI_SWEEP_INTERVAL seconds.
    """
    from aimodels import registry
    from conversions import recovery, services
    from vectorizer import rescue

    registry.ensure_loaded()  # svgai_site.wsgi did already, unless another app module is served
    services.worker_pool().warm_up()
    rescue.rescue_pool().warm_up()  # budgeted requests' rescue traces run there
    recovery.start_sweeper()
