"""The explorers in a real browser: JupyterLab on 127.0.0.1 with a token, the explorers chapter opened in headless
Chromium (driven by selenium), every cell run; the widgets must render as controls, and moving a slider must redraw
its figure. It also checks that opening the notebook changes nothing in it but the kernel metadata JupyterLab writes
(`kernelspec.display_name` and `language_info`; `nbdev_clean` resets the display name to the kernel's name, so
JupyterLab marks every chapter modified on open: a known limit, see the README).

Needs Debian's `chromium` and `chromium-driver` (`apt-get install chromium chromium-driver`) and `selenium`
(a dev dependency); `.ci/run` installs the browser. Without them the test skips and says what to install."""
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTER = ROOT / "nbs" / "44_explorers.ipynb"
EXECUTED = ROOT / "_book" / "executed"   # where the test run keeps executed notebooks for the rendered book
CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
RUN_ALL_TIMEOUT = 900      # seconds; the chapter takes about a minute on one idle core

STATE_JS = """const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
if (!w || !w.sessionContext || !w.context || !w.context.isReady || !w.content) return null;
const k = w.sessionContext.session && w.sessionContext.session.kernel;
const code = w.content.widgets.filter(c => c.model.type === 'code');
const errors = code.flatMap(c => c.model.outputs.toJSON().filter(o => o.output_type === 'error')
                                  .map(o => o.ename + ': ' + o.evalue));
return {kernel: k ? k.status : null, n_code: code.length, n_run: code.filter(c => c.model.executionCount !== null).length, errors: errors};"""


def browser_missing() -> str | None:
    "What to install for this test, or None when selenium, chromium and chromedriver are all here."
    try: import selenium  # noqa: F401
    except ImportError: return "selenium is missing: pip install -e '.[dev]'"
    if not (CHROMIUM and CHROMEDRIVER):
        return "no browser: apt-get install chromium chromium-driver (Debian's; builds fetched by other tools do not install here)"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(what, predicate, timeout):
    t0 = time.time()
    while time.time() - t0 < timeout:
        value = predicate()
        if value: return value
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@pytest.fixture
def lab(tmp_path):
    "A JupyterLab server on 127.0.0.1 serving a copy of the explorers chapter, and a headless Chromium on it."
    if browser_missing(): pytest.skip(browser_missing())
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    nb = json.loads(CHAPTER.read_text(encoding="utf-8"))
    # the last cell exports the package with nbdev, which needs the project's folder; the copy is outside it
    nb["cells"] = [c for c in nb["cells"] if "nbdev_export()" not in "".join(c["source"])]
    (tmp_path / CHAPTER.name).write_text(json.dumps(nb, indent=1, ensure_ascii=False), encoding="utf-8")  # never the committed file
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(tmp_path / ".jupyter"), JUPYTERLAB_SETTINGS_DIR=str(tmp_path / ".lab-settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / ".lab-workspaces"))
    # save the widgets' state with the notebook: the rendered book shows the explorers as Run All left them
    widgets = tmp_path / ".lab-settings" / "@jupyter-widgets" / "jupyterlab-manager"
    widgets.mkdir(parents=True)
    (widgets / "plugin.jupyterlab-settings").write_text(json.dumps({"saveState": True}))
    log = open(tmp_path / "jupyterlab.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root", "--ServerApp.ip=127.0.0.1",
         f"--ServerApp.port={port}", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={tmp_path}",
         "--LabApp.expose_app_in_browser=True"], env=env, stdout=log, stderr=subprocess.STDOUT)
    driver = None
    try:
        def up():
            try: socket.create_connection(("127.0.0.1", port), 1).close(); return True
            except OSError: return server.poll() is not None
        _wait("JupyterLab to listen", up, 120)
        assert server.poll() is None, (tmp_path / "jupyterlab.log").read_text()[-3000:]
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000"):
            options.add_argument(arg)
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        driver.get(f"http://127.0.0.1:{port}/lab/tree/{CHAPTER.name}?token={token}")
        yield driver, nb, tmp_path / CHAPTER.name
    finally:
        if driver is not None: driver.quit()
        server.terminate()
        try: server.wait(20)
        except subprocess.TimeoutExpired: server.kill()
        log.close()


def test_explorers_in_jupyterlab(lab):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    driver, served, served_path = lab
    state = lambda: driver.execute_script(STATE_JS)

    # opened, kernel started: JupyterLab has written its kernel metadata, and nothing else may have changed
    _wait("the kernel to start", lambda: (s := state()) and s["kernel"] == "idle", 180)
    time.sleep(3)
    opened = driver.execute_script("return window.jupyterapp.shell.currentWidget.context.model.toJSON()")
    assert [(c["cell_type"], "".join(c["source"])) for c in opened["cells"]] == \
           [(c["cell_type"], "".join(c["source"])) for c in served["cells"]], "opening the notebook changed its cells"
    kernel_keys = {"kernelspec", "language_info"}
    assert {k: v for k, v in opened["metadata"].items() if k not in kernel_keys} == \
           {k: v for k, v in served["metadata"].items() if k not in kernel_keys}, opened["metadata"]
    assert opened["metadata"]["kernelspec"]["name"] == served["metadata"]["kernelspec"]["name"], opened["metadata"]

    driver.execute_script("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    _wait("Run All to finish", lambda: (s := state()) and (s["errors"] or (s["n_run"] == s["n_code"] and s["kernel"] == "idle")),
          RUN_ALL_TIMEOUT)
    s = state()
    assert not s["errors"], s["errors"]

    # saved as Run All left it, widget state included: the rendered book's page of this chapter (.ci/build_book.py)
    driver.execute_script("window.jupyterapp.commands.execute('docmanager:save')")
    _wait("the notebook to be saved", lambda: not driver.execute_script("return window.jupyterapp.shell.currentWidget.context.model.dirty"), 60)
    saved = json.loads(served_path.read_text(encoding="utf-8"))
    assert saved["metadata"]["widgets"]["application/vnd.jupyter.widget-state+json"]["state"], "the widget state was not saved"
    EXECUTED.mkdir(parents=True, exist_ok=True)
    (EXECUTED / CHAPTER.name).write_text(json.dumps(saved, indent=1, ensure_ascii=False), encoding="utf-8")

    # the widgets render as controls, not as their text form
    def outputs_text():
        return "\n".join(e.text for e in driver.find_elements(By.CSS_SELECTOR, ".jp-OutputArea-output"))
    text = outputs_text()
    for bad in ("VBox(", "HBox(", "FloatSlider(", "IntSlider(", "Error displaying widget", "model not found"):
        assert bad not in text, f"a widget shows as text ({bad!r}): {text[:500]}"
    boxes = driver.find_elements(By.CSS_SELECTOR, ".jp-OutputArea-output .widget-vbox")
    sliders = driver.find_elements(By.CSS_SELECTOR, ".jp-OutputArea-output .widget-slider")
    images = driver.find_elements(By.CSS_SELECTOR, ".jp-OutputArea-output .widget-image")
    assert len(sliders) >= 10 and len(images) >= 3, (len(boxes), len(sliders), len(images))

    # move the temperature explorer's slider with the keyboard, as a reader would; its figure and numbers follow
    box = next(b for b in boxes if "temperature" in b.text and b.find_elements(By.CSS_SELECTOR, ".widget-image"))
    image = box.find_element(By.CSS_SELECTOR, ".widget-image")
    before_src, before_text = image.get_attribute("src"), box.text
    handle = box.find_element(By.CSS_SELECTOR, ".widget-slider .noUi-handle")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", handle)
    handle.click()
    for _ in range(5): handle.send_keys(Keys.ARROW_RIGHT)
    _wait("the figure to redraw", lambda: image.get_attribute("src") != before_src, 60)
    assert box.text != before_text, "the statistics under the figure did not change"
    assert not state()["errors"]
