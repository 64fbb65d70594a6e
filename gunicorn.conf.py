"""gunicorn settings for `make run`: start conversion workers before the first request."""


def post_worker_init(worker: object) -> None:
    """Warm the conversion pool and the models so the first upload is not the slow one."""
    from conversions import services

    services.worker_pool().warm_up()
