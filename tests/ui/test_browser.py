"""The web UI in a real browser: `faceswap-gan ui` on a free local port, driven by headless Chromium
(Debian's chromium + chromium-driver, with Selenium) through the whole job on the two built-in sample
clips: prepare, delete a wrong face, train a few iterations, leave and come back, preview a frame,
convert, and the result offered. Screenshots of each step go to FACESWAP_GAN_SCREENSHOTS (docs/images/
is made this way) or to the test's own folder."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from faceswap_gan.sample_clips import make_sample_clip

pytestmark = pytest.mark.slow
selenium = pytest.importorskip("selenium", reason="the browser test needs selenium (pip install -e '.[dev]')")
pytest.importorskip("gradio", reason="the web UI needs gradio (pip install -e '.[ui]')")
from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support import expected_conditions as ec  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
LOCAL = ("http://127.0.0.1", "http://localhost", "ws://127.0.0.1", "data:", "blob:")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    port = _free_port()
    log = open(tmp_path / "server.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [sys.executable, "-m", "faceswap_gan", "ui", "--port", str(port), "--workdir", str(tmp_path / "ws")],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/"
    for _ in range(120):
        try:
            urllib.request.urlopen(url, timeout=1)
            break
        except OSError:
            assert process.poll() is None, (tmp_path / "server.log").read_text()
            time.sleep(0.5)
    yield url, tmp_path / "ws"
    process.terminate()
    process.wait(30)
    log.close()
    for pid_file in (tmp_path / "ws" / "jobs").rglob("job.json"):  # jobs outlive the server by design
        with contextlib.suppress(ProcessLookupError, KeyError, ValueError):
            os.killpg(json.loads(pid_file.read_text())["pid"], 15)


@pytest.fixture
def browser():
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("needs Debian's chromium and chromium-driver (make test installs them)")
    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1600,1300"):
        options.add_argument(arg)
    options.binary_location = CHROMIUM
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


class Page:
    def __init__(self, driver, shots: Path) -> None:
        self.d, self.shots = driver, shots

    def find(self, css: str):
        return WebDriverWait(self.d, 30).until(ec.presence_of_element_located((By.CSS_SELECTOR, css)))

    def wait_for(self, css: str, timeout: float = 60):
        return WebDriverWait(self.d, timeout).until(ec.visibility_of_element_located((By.CSS_SELECTOR, css)))

    def click(self, css: str) -> None:
        WebDriverWait(self.d, 30).until(ec.element_to_be_clickable((By.CSS_SELECTOR, css))).click()

    def tab(self, title: str) -> None:
        tab = (By.XPATH, f"//button[@role='tab' and contains(., '{title}')]")
        WebDriverWait(self.d, 30).until(ec.element_to_be_clickable(tab)).click()

    def type(self, css: str, text: str) -> None:
        box = self.wait_for(f"{css} input, {css} textarea")
        box.send_keys(Keys.CONTROL, "a")
        box.send_keys(text, Keys.TAB)  # Gradio takes the value on input and blur

    def open_options(self, form: str) -> None:
        self.click(f"#options-{form} .label-wrap")

    def job_ends(self, kind: str, timeout: float) -> str:
        css = f".fsg-status[data-kind='{kind}']"
        WebDriverWait(self.d, timeout).until(
            lambda d: d.find_element(By.CSS_SELECTOR, css).get_attribute("data-state") not in ("running", "none")
        )
        return self.d.find_element(By.CSS_SELECTOR, css).get_attribute("data-state")

    def text(self) -> str:
        return self.d.find_element(By.TAG_NAME, "body").text

    def shot(self, name: str) -> None:
        from PIL import Image

        path = self.shots / name
        self.d.save_screenshot(str(path))
        # 256 colours: a third of the size, and a page's flat colours lose nothing visible
        Image.open(path).convert("RGB").quantize(256, dither=Image.Dither.NONE).save(path, optimize=True)


def test_the_whole_job_in_the_browser(server, browser, tmp_path):
    url, workdir = server
    shots = Path(os.environ.get("FACESWAP_GAN_SCREENSHOTS", tmp_path / "shots"))
    shots.mkdir(parents=True, exist_ok=True)
    clip_a = make_sample_clip("astronaut", tmp_path / "astronaut.mp4", seconds=1.6)
    clip_b = make_sample_clip("grace_hopper", tmp_path / "hopper.mp4", seconds=1.6)
    iterations = os.environ.get("FACESWAP_GAN_UI_ITERATIONS", "24")
    page = Page(browser, shots)
    browser.get(url)

    # An error is one readable line in the page, never a traceback.
    page.tab("3. Convert")
    page.click("#convert")
    assert WebDriverWait(browser, 20).until(lambda d: "choose a video or photo" in page.text())
    page.tab("1. Data")

    # 1. Data: A uploaded, B from a path; prepare; the faces appear; one is deleted.
    page.find("#files-a input[type=file]").send_keys(str(clip_a))
    page.type("#path-b", str(clip_b))
    page.open_options("extract")
    page.type("#extract-every", "2")
    page.type("#extract-size", "96")
    page.click("#prepare")
    assert page.job_ends("prepare", 120) == "done", (workdir / "jobs").rglob("log.txt")
    WebDriverWait(browser, 60).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#gallery-a img")) == 20)
    browser.find_elements(By.CSS_SELECTOR, "#gallery-a .thumbnail-item")[0].click()
    assert WebDriverWait(browser, 10).until(lambda d: "Selected: A/" in page.text())
    page.shot("ui-1-data.png")
    page.click("#delete")
    WebDriverWait(browser, 30).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#gallery-a img")) == 19)
    assert page.job_ends("masks", 60) == "done"

    # 2. Train a few iterations; leave the page and come back while it runs: it reattaches; stop; resume.
    page.tab("2. Train")
    page.open_options("train")
    page.type("#train-iterations", iterations)
    page.type("#train-display_every", str(max(int(iterations) // 3, 1)))
    page.click("#train")
    train = ".fsg-status[data-kind='train']"
    WebDriverWait(browser, 60).until(
        lambda d: (
            d.find_element(By.CSS_SELECTOR, train).get_attribute("data-state") == "running"
            and d.find_elements(By.CSS_SELECTOR, f"{train} progress")
        )
    )
    browser.get("about:blank")
    browser.get(url)
    page.tab("2. Train")
    WebDriverWait(browser, 30).until(
        lambda d: d.find_element(By.CSS_SELECTOR, train).get_attribute("data-state") == "running"
    )
    page.click("#stop")
    assert page.job_ends("train", 60) == "stopped"
    page.click("#train")  # resumes from the checkpoint the stop saved
    WebDriverWait(browser, 30).until(
        lambda d: d.find_element(By.CSS_SELECTOR, train).get_attribute("data-state") == "running"
    )
    assert page.job_ends("train", 600) == "done"
    WebDriverWait(browser, 30).until(lambda d: f"iteration {iterations}: identity A→B" in page.find("#quality").text)
    preview = page.wait_for("#preview img").get_attribute("src")
    assert "iter_" in preview
    page.wait_for("#loss-plot img")
    page.shot("ui-2-train.png")

    # 3. Convert: a one-frame preview of the settings, then the clip; the result plays and downloads.
    page.tab("3. Convert")
    page.type("#convert-path", str(clip_a))
    browser.find_element(By.CSS_SELECTOR, "#convert-path textarea, #convert-path input").send_keys(Keys.ENTER)
    time.sleep(1)
    page.click("#preview-frame")
    WebDriverWait(browser, 60).until(lambda d: page.find("#preview img").get_attribute("src") != preview)
    page.shot("ui-3-preview.png")
    page.click("#convert")
    assert page.job_ends("convert", 120) == "done"
    video = WebDriverWait(browser, 30).until(lambda d: d.find_element(By.CSS_SELECTOR, "#result-video video"))
    assert video.get_attribute("src")
    assert page.wait_for("#result-file a").get_attribute("href")
    assert list((workdir / "outputs").rglob("*.mp4"))
    page.shot("ui-4-convert.png")
    assert "Traceback" not in page.text()

    # Nothing was fetched from anywhere but the server itself.
    sent = [json.loads(e["message"])["message"] for e in browser.get_log("performance")]
    urls = {m["params"]["request"]["url"] for m in sent if m["method"] == "Network.requestWillBeSent"}
    assert urls and not [u for u in urls if not u.startswith(LOCAL)]
