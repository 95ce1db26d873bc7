"""Drive the MLflow UI and the report in headless Chromium (Debian's ``chromium`` and
``chromium-driver``, through Selenium). Used by tests/test_browser.py and by
docs/make_pictures.py, which saves the same views as the README's pictures."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
DRIVER_NAMES = ("chromedriver", "chromium-driver")


def browser_problem() -> str | None:
    """None when a browser can be driven here, else what is missing and how to get it."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install '.[test]')"
    if not any(shutil.which(n) for n in CHROMIUM_NAMES):
        return "no Chromium on PATH (Debian: apt-get install chromium chromium-driver)"
    if not any(shutil.which(n) for n in DRIVER_NAMES):
        return "no chromedriver on PATH (Debian: apt-get install chromium-driver)"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_http(url: str, server: subprocess.Popen, errors: Path, seconds: float = 300) -> None:
    """Return once ``url`` answers; raise at once, with what it printed, if ``server`` exits.

    The deadline only guards against a server that hangs: MLflow's start takes 15-30 s on an
    idle 2-core machine and several times that beside a CPU-heavy neighbour."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the UI server exited ({server.returncode}) before answering: {_tail(errors)}")
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"nothing answered at {url} within {seconds:.0f} s; the server printed: {_tail(errors)}")


def _tail(path: Path, characters: int = 3000) -> str:
    return path.read_text(errors="replace")[-characters:] if path.exists() else "(nothing)"


@contextlib.contextmanager
def mlflow_ui(config: Path) -> Iterator[str]:
    """``strategy-search ui CONFIG`` on a free port; yields its base URL."""
    port = free_port()
    errors = config.parent / "ui-errors.txt"
    with ui_output(config).open("w") as printed, errors.open("w") as error_file:
        server = subprocess.Popen(
            [sys.executable, "-m", "strategy_search", "ui", str(config), "--port", str(port)],
            stdout=printed,
            stderr=error_file,
            start_new_session=True,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for_http(base, server, errors)
        yield base
    finally:
        import os
        import signal

        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def ui_output(config: Path) -> Path:
    """Where :func:`mlflow_ui` keeps what `strategy-search ui` printed on stdout."""
    return config.parent / "ui-output.txt"


def printed_trials_link(config: Path, seconds: float = 300) -> str:
    """The trials link `strategy-search ui` printed (it prints it once the server answers)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for line in ui_output(config).read_text().splitlines():
            if line.startswith("this config's trials"):
                return line.rsplit(" ", 1)[-1]
        time.sleep(0.3)
    raise TimeoutError(
        f"`strategy-search ui` printed no trials link in {seconds:.0f} s: {ui_output(config).read_text()!r}"
    )


@contextlib.contextmanager
def chromium(width: int = 1500, height: int = 900) -> Iterator[Any]:
    """A headless Chromium driven by Selenium (the system's chromedriver, no download)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    options.add_argument(f"--window-size={width},{height}")
    options.binary_location = next(p for n in CHROMIUM_NAMES if (p := shutil.which(n)))
    service = Service(executable_path=next(p for n in DRIVER_NAMES if (p := shutil.which(n))))
    driver = webdriver.Chrome(options=options, service=service)
    try:
        yield driver
    finally:
        driver.quit()


def wait_for_text(driver: Any, texts: list[str], *, seconds: float = 60) -> None:
    """Wait until every one of ``texts`` is in the page's visible text."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def found(d: Any) -> bool:
        body = d.find_element(By.TAG_NAME, "body").text
        return all(t in body for t in texts)

    try:
        WebDriverWait(driver, seconds, poll_frequency=0.3).until(found)
    except TimeoutException:
        from selenium.webdriver.common.by import By as _By

        body = driver.find_element(_By.TAG_NAME, "body").text
        missing = [t for t in texts if t not in body]
        raise AssertionError(f"{driver.current_url} never showed {missing}; it showed:\n{body[:3000]}") from None


def images_loaded(driver: Any) -> int:
    """How many <img> on the page decoded to a picture (naturalWidth > 0)."""
    return int(
        driver.execute_script("return Array.from(document.images).filter(i => i.complete && i.naturalWidth > 0).length")
    )


def open_mlflow(driver: Any, base: str, url: str) -> None:
    """Open ``url`` of the MLflow UI at ``base`` as a returning user would see it: without the
    assistant panel MLflow 3 opens on a first visit (it would cover the runs table)."""
    driver.get(base)
    driver.execute_script(
        "localStorage.setItem('mlflow.assistant.panelOpen_v1', 'false');"
        "localStorage.setItem('mlflow.assistant.fab.autoOpenedOnFirstLoad_v1', 'true');"
    )
    driver.get(url)


def add_columns(driver: Any, names: list[str]) -> None:
    """Tick metric or parameter columns in the runs table's **Columns** menu, as a user does."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    driver.find_element(By.CSS_SELECTOR, "[data-testid='column-selection-dropdown']").click()
    for name in names:
        item = driver.find_element(
            By.XPATH, f"//span[contains(@class, 'tree-title') and normalize-space(text())='{name}']"
        )
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", item)
        item.click()
    driver.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)


def column_headers(driver: Any) -> set[str]:
    from selenium.webdriver.common.by import By

    return {h.text.strip() for h in driver.find_elements(By.CSS_SELECTOR, "[role='columnheader']") if h.text.strip()}


def workflow(driver: Any) -> str | None:
    """Which of MLflow 3's two UIs the page shows, from its sidebar: 'machine_learning' (the
    model-training pages list the model registry) or 'genai' (they list evaluation runs)."""
    from selenium.webdriver.common.by import By

    body = driver.find_element(By.TAG_NAME, "body").text
    if "Evaluation runs" in body:
        return "genai"
    return "machine_learning" if "Model registry" in body else None
