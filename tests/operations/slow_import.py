"""A module slow to import: it waits at the gate named by SVGAI_TEST_IMPORT_GATE (a FIFO).

A worker preloading it takes its first job only once the test opens that gate, however fast
or loaded the machine is.
"""

import os

import lifecycle_jobs

lifecycle_jobs.wait_at(os.environ["SVGAI_TEST_IMPORT_GATE"])
