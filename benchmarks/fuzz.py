"""The long fuzz run: the fuzz tests with every wrong value on every field and ten times
the random examples, on SQLite and PostgreSQL; prints requests and 5xx per target.

Run: .venv/bin/python benchmarks/fuzz.py   (about 10 times the test suite's share)
The tests (tests/bot/test_fuzz_telegram.py, tests/bot/test_fuzz_wechat.py,
tests/test_fuzz_http.py) run a seeded share of the same in the suite.
"""

from __future__ import annotations

import os
import sys
import time

import pytest

TESTS = [
    "tests/bot/test_fuzz_telegram.py::test_malformed_updates_are_refused_never_5xx",
    "tests/bot/test_fuzz_wechat.py::test_odd_signed_requests_are_refused_never_5xx",
    "tests/test_fuzz_http.py::test_the_json_apis_never_answer_5xx",
]


def main() -> int:
    os.environ["CXBOT_FUZZ_LONG"] = "1"
    started = time.perf_counter()
    code = pytest.main(["-q", "-p", "no:cacheprovider", "--show-capture=no", *TESTS])
    print(f"fuzz run: {time.perf_counter() - started:.0f} s, pytest exit {int(code)}")
    return int(code)


if __name__ == "__main__":
    sys.exit(main())
