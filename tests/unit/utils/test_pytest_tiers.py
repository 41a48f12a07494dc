"""The tier plugin, driven through inner pytest runs (pytester) with the project's own
warning filters: every rule is shown to fail a run that breaks it, with a message why."""

from __future__ import annotations

import signal
import textwrap
import tomllib
from pathlib import Path

import pytest

from tests.utils._services.settings import load_settings
from tests.utils.pytest_tiers import (
    TierViolation,
    _loopback,
    real_provider,
    scan_source,
    tier_of,
)

ROOT = Path(__file__).resolve().parents[3]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
OLLAMA_PORT = load_settings()["ollama"].port


def _ini(filterwarnings: list[str] | None = None) -> str:
    filters = PYPROJECT["filterwarnings"] if filterwarnings is None else filterwarnings
    lines = "\n".join(f"    {f}" for f in filters)
    return (
        textwrap.dedent(
            """\
        [pytest]
        asyncio_mode = auto
        asyncio_default_fixture_loop_scope = function
        addopts = -p tests.utils.pytest_tiers -p no:cacheprovider
        filterwarnings =
        """
        )
        + lines
        + "\n"
    )


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makefile(".ini", pytest=_ini())
    for tier in ("unit", "integration", "e2e"):
        (pytester.path / "tests" / tier).mkdir(parents=True)
    return pytester


def _write(p: pytest.Pytester, relative: str, source: str) -> Path:
    path = p.path / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source))
    return path


# --- markers and directories -----------------------------------------------------------------


def test_markers_come_from_the_directory(project: pytest.Pytester) -> None:
    for tier in ("unit", "integration", "e2e"):
        _write(
            project,
            f"tests/{tier}/test_{tier}_marker.py",
            f"""
            def test_marked(request):
                assert request.node.get_closest_marker({tier!r}) is not None
            """,
        )
    result = project.runpytest_inprocess("-m", "unit or integration or e2e")
    result.assert_outcomes(passed=3)


def test_test_outside_the_tiers_is_rejected(project: pytest.Pytester) -> None:
    _write(project, "tests/misc/test_stray.py", "def test_x(): pass\n")
    result = project.runpytest_inprocess()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*outside tests/unit, tests/integration and tests/e2e*"])


def test_toolkit_dir_is_never_collected(project: pytest.Pytester) -> None:
    _write(
        project,
        "tests/utils/test_fixtures.py",
        """
        class TestDataThing:
            def __init__(self):
                pass

        def test_looks_like_a_test():
            raise AssertionError("must never run")
        """,
    )
    result = project.runpytest_inprocess("tests")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED
    result.stdout.no_fnmatch_line("*PytestCollectionWarning*")


def test_tier_of() -> None:
    root = Path("/r/tests")
    assert tier_of(Path("/r/tests/unit/a/test_x.py"), root) == "unit"
    assert tier_of(Path("/r/tests/e2e/test_x.py"), root) == "e2e"
    assert tier_of(Path("/r/tests/utils/test_fixtures.py"), root) is None
    assert tier_of(Path("/elsewhere/test_x.py"), root) is None


# --- no mocks in the real tiers ---------------------------------------------------------------

FORBIDDEN = {
    "import_unittest_mock": "import unittest.mock\n",
    "from_unittest_import_mock": "from unittest import mock\n",
    "from_unittest_mock": "from unittest.mock import MagicMock\n",
    "attribute": "import unittest\nPATCH = unittest.mock.patch\n",
    "backport": "import mock\n",
    "mock_providers_from": "from tests.utils.mock_providers import MockLLMProvider\n",
    "mock_providers_module": "from tests.utils import mock_providers\n",
    "mock_providers_import": "import tests.utils.mock_providers as mp\n",
    "reexported_fake": "from tests.utils import MockLLMProvider\n",
    "import_module": (
        "import importlib\nM = importlib.import_module('tests.utils.mock_providers')\n"
    ),
    "mocker_fixture": "def test_uses_mocker(mocker):\n    pass\n",
    "fake_provider": (
        "from kaizen.providers import register_provider\n"
        "register_provider('fake', lambda config: None)\n"
    ),
}
REASONS = {
    "import_unittest_mock": "imports unittest.mock",
    "from_unittest_import_mock": "imports mock from unittest",
    "from_unittest_mock": "imports unittest.mock",
    "attribute": "uses unittest.mock",
    "backport": "imports mock (the `mock` package",
    "mock_providers_from": "imports tests.utils.mock_providers",
    "mock_providers_module": "imports mock_providers from tests.utils",
    "mock_providers_import": "imports tests.utils.mock_providers",
    "reexported_fake": "imports MockLLMProvider from tests.utils (tests.utils.mock_providers",
    "import_module": "imports tests.utils.mock_providers",
    "mocker_fixture": "requests the `mocker` fixture",
    "fake_provider": "not marked @real_provider",
}


@pytest.mark.parametrize("tier", ["integration", "e2e"])
@pytest.mark.parametrize("case", sorted(FORBIDDEN))
def test_mocks_in_real_tiers_fail_at_collection(
    project: pytest.Pytester, tier: str, case: str
) -> None:
    _write(project, f"tests/{tier}/test_{case}.py", FORBIDDEN[case] + "\ndef test_ok(): pass\n")
    result = project.runpytest_inprocess()
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(
        [
            f"*{tier} tests run against real services only*",
            f"*test_{case}.py:*{REASONS[case]}*",
        ]
    )
    result.assert_outcomes(errors=1)


def test_the_same_imports_are_fine_in_unit_tests(project: pytest.Pytester) -> None:
    _write(
        project,
        "tests/unit/test_mocks_ok.py",
        """
        from unittest import mock
        from tests.utils.mock_providers import MockLLMProvider
        from tests.utils import MockLLMProvider as Exported

        def test_ok():
            assert mock.MagicMock() and MockLLMProvider()
            assert Exported is MockLLMProvider
        """,
    )
    project.runpytest_inprocess().assert_outcomes(passed=1)


def test_conftest_in_a_real_tier_is_checked(project: pytest.Pytester) -> None:
    _write(project, "tests/integration/conftest.py", "from unittest import mock\n")
    _write(project, "tests/integration/sub/test_clean.py", "def test_ok(): pass\n")
    result = project.runpytest_inprocess()
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*integration/conftest.py:1: imports mock from unittest*"])


def test_local_helper_modules_are_followed(project: pytest.Pytester) -> None:
    _write(project, "tests/e2e/helpers_zz.py", "from unittest.mock import patch\n")
    _write(
        project,
        "tests/e2e/test_uses_helper.py",
        "from tests.e2e.helpers_zz import patch\n\ndef test_ok(): pass\n",
    )
    result = project.runpytest_inprocess()
    result.stdout.fnmatch_lines(["*helpers_zz.py:1: imports unittest.mock*"])
    result.assert_outcomes(errors=1)


def test_real_provider_factories_pass_the_static_check(project: pytest.Pytester) -> None:
    _write(
        project,
        "tests/integration/test_real_provider.py",
        """
        from kaizen.providers import register_provider, unregister_provider
        from tests.utils.pytest_tiers import real_provider

        @real_provider
        def factory(config):
            raise AssertionError("not called")

        def test_register():
            register_provider("kzt-real-a", factory)
            unregister_provider("kzt-real-a")
            register_provider("kzt-real-b", real_provider(lambda c: None))
            unregister_provider("kzt-real-b")
        """,
    )
    project.runpytest_inprocess().assert_outcomes(passed=1)


def test_dynamic_fake_registration_fails_at_run_time(project: pytest.Pytester) -> None:
    _write(
        project,
        "tests/integration/test_dynamic.py",
        """
        from kaizen.providers import registry

        def sneaky(name, factory):
            getattr(registry, "register_" + "provider")(name, factory)

        def test_register_fake():
            sneaky("kzt-fake", lambda config: object())

        def test_register_fake_swallowed():
            try:
                sneaky("kzt-fake-2", lambda config: object())
            except Exception:
                pass

        def test_fake_never_landed():
            assert "kzt-fake" not in registry.available_providers()
        """,
    )
    result = project.runpytest_inprocess()
    result.assert_outcomes(failed=2, passed=1)
    result.stdout.fnmatch_lines(["*register_provider('kzt-fake'*may only register real providers*"])


def test_unit_tests_may_register_any_provider(project: pytest.Pytester) -> None:
    _write(
        project,
        "tests/unit/test_register_unit.py",
        """
        from kaizen.providers import register_provider, unregister_provider

        def test_register():
            register_provider("kzt-unit-fake", lambda config: None)
            unregister_provider("kzt-unit-fake")
        """,
    )
    project.runpytest_inprocess().assert_outcomes(passed=1)


def test_scan_source_reports_lines() -> None:
    findings, local = scan_source(
        "import os\nfrom unittest import mock\nfrom tests.integration.h import x\n",
        Path("/r/tests/integration/test_a.py"),
        Path("/r/tests"),
    )
    assert [(f.line, f.what.split(" (")[0]) for f in findings] == [
        (2, "imports mock from unittest")
    ]
    assert local == {"tests.integration.h"}


def test_real_provider_marks_the_factory() -> None:
    def factory(config):
        return None

    assert real_provider(factory) is factory
    assert factory.__kaizen_real_provider__ is True


# --- sockets in unit tests --------------------------------------------------------------------


def test_unit_tests_cannot_open_non_loopback_sockets(project: pytest.Pytester) -> None:
    _write(
        project,
        "tests/unit/test_net.py",
        """
        import asyncio
        import socket

        def test_create_connection():
            socket.create_connection(("192.0.2.10", 80), timeout=1)

        def test_swallowed():
            try:
                socket.create_connection(("192.0.2.11", 80), timeout=1)
            except BaseException:
                pass

        async def test_asyncio():
            await asyncio.wait_for(asyncio.open_connection("192.0.2.12", 80), 5)

        def test_connect_ex():
            s = socket.socket()
            try:
                s.connect_ex(("192.0.2.13", 443))
            finally:
                s.close()
        """,
    )
    result = project.runpytest_inprocess()
    result.assert_outcomes(failed=4)
    result.stdout.fnmatch_lines(
        [
            "*socket.connect(('192.0.2.10', 80)) in unit test*may not open non-loopback*",
        ]
    )
    result.stdout.fnmatch_lines(["*socket.connect(('192.0.2.11', 80))*"])
    result.stdout.fnmatch_lines(["*socket.connect_ex(('192.0.2.13', 443))*"])


def test_loopback_and_unix_sockets_are_allowed(project: pytest.Pytester) -> None:
    _write(
        project,
        "tests/unit/test_loopback.py",
        """
        import socket

        def test_loopback_round_trip():
            server = socket.socket()
            server.bind(("127.0.0.1", 0))
            server.listen()
            client = socket.create_connection(server.getsockname(), timeout=5)
            conn, _ = server.accept()
            client.sendall(b"ping")
            assert conn.recv(4) == b"ping"
            for s in (conn, client, server):
                s.close()

        def test_unix_socketpair():
            a, b = socket.socketpair()
            a.sendall(b"x")
            assert b.recv(1) == b"x"
            a.close(); b.close()
        """,
    )
    project.runpytest_inprocess().assert_outcomes(passed=2)


def test_unit_tests_cannot_reach_the_llm_port(project: pytest.Pytester) -> None:
    _write(
        project,
        "tests/unit/test_llm.py",
        f"""
        import socket

        def test_reach_llm():
            socket.create_connection(("127.0.0.1", {OLLAMA_PORT}), timeout=1)
        """,
    )
    result = project.runpytest_inprocess()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [f"*socket.connect(('127.0.0.1', {OLLAMA_PORT}))*Ollama (real LLM) port*"]
    )


def test_integration_tests_are_not_socket_guarded(project: pytest.Pytester) -> None:
    _write(
        project,
        "tests/integration/test_sock.py",
        """
        import socket

        def test_connect_ex_reaches_the_os():
            s = socket.socket()
            s.settimeout(1)
            try:
                assert isinstance(s.connect_ex(("127.0.0.1", 9)), int)
            finally:
                s.close()
        """,
    )
    project.runpytest_inprocess().assert_outcomes(passed=1)


def test_guard_is_removed_after_the_test() -> None:
    import socket

    assert socket.socket.connect.__name__ == "connect"
    assert socket.socket.connect.__qualname__.startswith("_SocketGuard")  # active in unit
    with pytest.raises(TierViolation):
        socket.create_connection(("192.0.2.20", 1), timeout=1)
    from tests.utils.pytest_tiers import _Current

    _Current.violations.clear()  # this test expected the violation


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", True),
        ("127.5.5.5", True),
        ("::1", True),
        ("localhost", True),
        ("10.0.0.1", False),
        ("example.com", False),
        ("0.0.0.0", False),
    ],
)
def test_loopback_detection(host: str, expected: bool) -> None:
    assert _loopback(host) is expected


# --- timeouts ---------------------------------------------------------------------------------


def test_marker_timeout_fails_a_hung_test(project: pytest.Pytester) -> None:
    _write(
        project,
        "tests/unit/test_hang.py",
        """
        import asyncio
        import threading
        import pytest

        @pytest.mark.timeout(0.5)
        def test_blocks():
            threading.Event().wait(60)

        @pytest.mark.timeout(0.5)
        async def test_async_blocks():
            await asyncio.Event().wait()
        """,
    )
    result = project.runpytest_inprocess("--durations=0")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["*test_blocks exceeded its 0.5s timeout*"])
    result.stdout.fnmatch_lines(["*test_async_blocks exceeded its 0.5s timeout*"])


def test_tier_default_applies_and_scale_works(project: pytest.Pytester) -> None:
    _write(
        project,
        "tests/unit/test_default.py",
        "import threading\n\ndef test_waits():\n    threading.Event().wait(30)\n",
    )
    result = project.runpytest_inprocess("--tier-timeout-scale=0.005")  # 60 s * 0.005
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*exceeded its 0.3s timeout (unit tier default*"])


def test_scale_zero_disables_timeouts(project: pytest.Pytester) -> None:
    _write(
        project,
        "tests/unit/test_off.py",
        """
        import threading
        import pytest

        @pytest.mark.timeout(0.05)
        def test_short_wait():
            threading.Event().wait(0.3)
        """,
    )
    project.runpytest_inprocess("--tier-timeout-scale=0").assert_outcomes(passed=1)


def test_bad_timeout_marker_is_a_usage_error(project: pytest.Pytester) -> None:
    _write(
        project,
        "tests/unit/test_badmark.py",
        "import pytest\n\n@pytest.mark.timeout('soon')\ndef test_x(): pass\n",
    )
    result = project.runpytest_inprocess()
    result.stderr.fnmatch_lines(["*timeout needs a number of seconds*'soon'*"])


def test_outer_timer_survives_an_inner_run(project: pytest.Pytester) -> None:
    _write(project, "tests/unit/test_quick.py", "def test_q(): pass\n")
    before = signal.getitimer(signal.ITIMER_REAL)[0]
    project.runpytest_inprocess().assert_outcomes(passed=1)
    after = signal.getitimer(signal.ITIMER_REAL)[0]
    assert 0 < after <= before


# --- warnings that must be errors -------------------------------------------------------------

COLLECTION_WARNING = """
class TestHasInit:
    def __init__(self):
        pass

    def test_silently_dropped(self):
        pass
"""

UNAWAITED = """
async def work():
    return 1

def test_sync_forgets_await():
    work()

async def test_async_forgets_await():
    work()
"""


# Subprocess runs: in process, the outer run's own filters would leak into the inner run
# and prove nothing about the project's configuration.


@pytest.fixture
def subprocess_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONPATH", str(ROOT))


def test_collection_warning_is_an_error(project: pytest.Pytester, subprocess_env: None) -> None:
    _write(project, "tests/unit/test_collect_warn.py", COLLECTION_WARNING)
    result = project.runpytest_subprocess()
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*PytestCollectionWarning: cannot collect test class*"])


def test_without_the_filter_the_class_would_be_dropped_silently(
    pytester: pytest.Pytester, subprocess_env: None
) -> None:
    pytester.makefile(".ini", pytest=_ini(filterwarnings=[]))
    _write(pytester, "tests/unit/test_collect_warn2.py", COLLECTION_WARNING)
    result = pytester.runpytest_subprocess()
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED  # the control: why the filter exists


def test_unawaited_coroutine_fails_the_test(project: pytest.Pytester, subprocess_env: None) -> None:
    _write(project, "tests/unit/test_unawaited.py", UNAWAITED)
    result = project.runpytest_subprocess()
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["*coroutine 'work' was never awaited*"])


def test_without_the_filters_an_unawaited_coroutine_passes(
    pytester: pytest.Pytester, subprocess_env: None
) -> None:
    pytester.makefile(".ini", pytest=_ini(filterwarnings=[]))
    _write(pytester, "tests/unit/test_unawaited2.py", UNAWAITED)
    result = pytester.runpytest_subprocess()
    assert result.parseoutcomes()["passed"] == 2
    result.stdout.fnmatch_lines(["*coroutine 'work' was never awaited*"])
