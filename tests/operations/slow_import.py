"""A module that takes seconds to import: a worker preloading it is slow to take its first job."""

import time

time.sleep(3)
