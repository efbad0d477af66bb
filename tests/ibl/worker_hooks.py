"""Imported by the real Celery worker of tests/ibl/test_worker.py (celery worker -I):
while the file "hold" is in $LSB_IBL_TEST_DIR, legs_plan waits after writing its
first leg, inside its open transaction, after noting "started-<n>" (with its pid)."""

import os
import time
from pathlib import Path

from ibl.services import transport


def _hold_after_first_leg(request, leg):
    folder = os.environ.get("LSB_IBL_TEST_DIR")
    if not folder:
        return
    folder = Path(folder)
    started = len(list(folder.glob("started-*"))) + 1
    (folder / f"started-{started}").write_text(str(os.getpid()))
    deadline = time.monotonic() + 120
    while (folder / "hold").exists() and time.monotonic() < deadline:
        time.sleep(0.1)


transport.PLAN_HOOK = _hold_after_first_leg
