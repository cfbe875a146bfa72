# SPDX-License-Identifier: ISC
"""The ThreadSanitizer reports in a server log, for the tests of
tests/tsan/.  A failure shows the reports themselves, whole and first,
not the log they are in: the log of a 30-second load run is megabytes,
and a report at its start would otherwise be cut from what CI keeps."""
import re

import pytest

# A report runs from its WARNING line to TSan's closing rule of '='.
REPORT = re.compile(r"^WARNING: ThreadSanitizer:.*?^={10,}$", re.M | re.S)
SHOWN = 20000  # characters of reports a failure shows


def reports(text):
    """Every report in text, in order; a mention of ThreadSanitizer that
    is not inside a whole report (a cut one) counts as one too."""
    found = REPORT.findall(text)
    rest = REPORT.sub("", text)
    if "ThreadSanitizer" in rest and not found:
        found.append(rest[max(0, rest.find("ThreadSanitizer") - 200):][:SHOWN])
    return found


def assert_none(text):
    """Fails the test with the reports, if text has any."""
    found = reports(text)
    if found:
        pytest.fail(f"{len(found)} ThreadSanitizer report(s):\n" +
                    "\n".join(found)[:SHOWN], pytrace=False)
