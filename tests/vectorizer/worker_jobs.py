"""Jobs for the worker pool tests: importable by name in a fresh worker interpreter.

Workers inherit the test process's sys.path, where pytest puts this folder, so these functions
pickle as `worker_jobs.<name>`.
"""

from __future__ import annotations

import io
import os
import time


def add(a: int, b: int) -> int:
    return a + b


def worker_pid() -> int:
    return os.getpid()


def raise_value_error() -> None:
    raise ValueError("the job could not cope\nsecond line is not reported")


def hang(seconds: float) -> None:
    time.sleep(seconds)


def exit_hard() -> None:
    os._exit(3)


def vtracer_panic() -> str:
    """Call vtracer with color_precision=0, which panics in Rust (no wrapper in between).

    Rust's panic hook writes the panic and, with RUST_BACKTRACE set, a 90-frame backtrace to
    file descriptor 2. A worker's descriptor 2 may be the terminal (one started while pytest's
    capture is suspended between tests), and a passing run that prints a backtrace reads as a
    failure: so the expected panic's report goes to /dev/null, for this call only.
    """
    import vtracer
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (255, 0, 0)).save(buffer, format="PNG")
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
        return vtracer.convert_raw_image_to_svg(
            buffer.getvalue(), img_format="png", color_precision=0
        )
    finally:
        os.dup2(saved, 2)
        os.close(saved)
