"""Benchmark extracting a generated district from the fake Canvas, throttle on.

Usage::

    python bench/bench_canvas.py [--courses 60] [--students 30] [--assignments 10] [--cost 4]

The fake Canvas of the test suite meters the token with Canvas's own bucket
(high-water mark 600, outflow 10 units/s, 50 units reserved per request in
flight); each request costs ``--cost`` units once done, so the sustainable rate is
10 / cost requests per second. The Canvas source reads every course (student
enrollments, assignments, submissions in bulk), pacing itself from
``X-Rate-Limit-Remaining``.

Reported: requests per second in the steady state (after the bucket's initial
room is used up) against the sustainable rate; throttled answers (refused by the
server and waited out by the client) and errors; requests made against the
fewest the endpoints allow at 100 per page.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from connector.adapters.base import AdapterContext, Checkpoint  # noqa: E402
from connector.adapters.sources.canvas import CanvasSource  # noqa: E402
from connector.config.secrets import resolve_secret  # noqa: E402
from connector.errors import Rejection  # noqa: E402
from tests.fakes.canvas_seed import generated_plan, seed  # noqa: E402
from tests.fakes.canvas_server import FakeCanvas  # noqa: E402
from tests.fakes.server import serve  # noqa: E402

OUTFLOW, HWM, UP_FRONT = 10.0, 600.0, 50.0


def measure(courses: int = 60, students: int = 30, assignments: int = 10,
            cost: float = 4.0) -> dict[str, Any]:
    os.environ["BENCH_CANVAS_TOKEN"] = "canvas-token"
    fake = FakeCanvas(cost=cost, bucket_settings={"hwm": HWM, "outflow": OUTFLOW,
                                                  "up_front": UP_FRONT})
    seed(fake, generated_plan(courses, students), assignments=assignments)
    context = AdapterContext(lambda p: Path(p), "UTC",
                             lambda ref, why: resolve_secret(ref, purpose=why))
    with serve(fake.app) as url:
        source = CanvasSource("bench-canvas", {
            "base_url": url, "token": "${BENCH_CANVAS_TOKEN}",
            "rate_limit_outflow": OUTFLOW}, context)
        started = time.monotonic()
        records = rejections = 0
        for item in source.read():
            if isinstance(item, Rejection):
                rejections += 1
            elif not isinstance(item, Checkpoint):
                records += 1
        seconds = time.monotonic() - started
    answered = [t - started for t in fake.answered]
    # Steady state: from the first moment the bucket had less than the client's margin left
    # (the initial room, (600 - 50) / cost requests, is a burst no client can sustain).
    burst = int((HWM - 100.0) / cost)
    steady = answered[burst:]
    steady_rate = (len(steady) - 1) / (steady[-1] - steady[0]) if len(steady) > 1 else 0.0
    sustainable = OUTFLOW / cost
    per_course = (math.ceil(students / 100) + math.ceil(assignments / 100)
                  + math.ceil(students * assignments / 100))
    minimum = math.ceil(courses / 100) + courses * per_course
    return {
        "courses": courses, "students_per_course": students,
        "assignments_per_course": assignments, "records": records,
        "rejections": rejections, "seconds": round(seconds, 1),
        "requests": len(fake.calls), "minimum_requests": minimum,
        "throttled_answers": fake.throttled_count(),
        "errors": sum(1 for _m, _p, status in fake.calls if status >= 400
                      and status not in (403, 429)),
        "cost_per_request": cost, "sustainable_per_s": round(sustainable, 2),
        "steady_per_s": round(steady_rate, 2),
        "steady_share_of_sustainable": round(steady_rate / sustainable, 3),
        "overall_per_s": round(len(fake.calls) / seconds, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--courses", type=int, default=60)
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--assignments", type=int, default=10)
    parser.add_argument("--cost", type=float, default=4.0)
    args = parser.parse_args()
    print(json.dumps(measure(args.courses, args.students, args.assignments, args.cost)),
          flush=True)


if __name__ == "__main__":
    main()
