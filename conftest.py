"""Suite-wide pytest rules for collections_automation.

A skipped test is a missing test: whatever a test needs (Chromium,
websocket-client, localstripe, ...) must be there, so a skip is reported as
a failure with its reason.
"""

import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped, and a skipped test is a missing test: {reason}"
