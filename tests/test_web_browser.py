"""The web player in headless Chromium (Debian's chromium + chromium-driver, via Selenium).

A generated 60 s video with speech is served by a real uvicorn; the tests ask a question,
click the citation chip and check that the player plays from the cited time, search,
follow deep links, hover the timeline, log in with a token, watch an index job and open
a video whose source file is gone. The video page's screenshot (1280×800) is saved to
``tests/artifacts/web-video.png``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
pytest.importorskip("selenium", reason="needs the web-test extra (selenium)")

import httpx  # noqa: E402
from agent_fixtures import toy_models  # noqa: E402
from live_server import LiveServer  # noqa: E402
from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import (  # noqa: E402
    NoSuchElementException,
    StaleElementReferenceException,
    TimeoutException,
)
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402
from web_media import SLIDE, build_talk_library  # noqa: E402

from hourlens import Library  # noqa: E402
from hourlens.integrations.rest import create_app  # noqa: E402

CHROMIUM = os.environ.get("HOURLENS_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("HOURLENS_CHROMEDRIVER", "/usr/bin/chromedriver")
ARTIFACTS = Path(__file__).parent / "artifacts"
TOKEN = "browser-s3cret"
WAIT = 60

pytestmark = pytest.mark.skipif(
    not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)),
    reason="needs chromium and chromium-driver (apt; scripts/setup.sh installs them)",
)

PLAYING = """
const p = document.getElementById('player');
return p && !p.paused && !p.ended && p.readyState >= 3 && p.currentTime > 0;
"""


@pytest.fixture(scope="module")
def browser():
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must never download anything
    profile = tempfile.mkdtemp(prefix="hourlens-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-dev-shm-usage",
        "--mute-audio",
        "--window-size=1280,800",
        f"--user-data-dir={profile}",
    ):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": 1280, "height": 800, "deviceScaleFactor": 1, "mobile": False},
    )
    driver.set_script_timeout(WAIT)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(autouse=True)
def no_csp_violations(browser):
    browser.get_log("browser")  # drop what earlier tests left
    yield
    logs = browser.get_log("browser")
    bad = [e["message"] for e in logs if "Content Security Policy" in e["message"]]
    assert not bad, bad
    errors = [
        e["message"]
        for e in logs
        if e["level"] == "SEVERE" and "favicon" not in e["message"] and " 40" not in e["message"]
    ]
    assert not errors, errors


@pytest.fixture(scope="module")
def talk(tmp_path_factory):
    return build_talk_library(tmp_path_factory.mktemp("webtalk"))


@pytest.fixture(scope="module")
def index_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("webroots")
    (root / "broken.mp4").write_bytes(b"not a video at all")
    return root


@pytest.fixture(scope="module")
def server(talk, index_root):
    with Library(talk[0], llm="none", models=toy_models()) as lib:
        histories: list[int] = []
        ask = lib.ask

        def recording_ask(question, video=None, history=None, **kw):
            histories.append(len(history or []))
            return ask(question, video=video, history=history, **kw)

        lib.ask = recording_ask  # type: ignore[method-assign]
        with LiveServer(create_app(lib, index_roots=[index_root])) as srv:
            srv.histories = histories  # type: ignore[attr-defined]
            yield srv


def wait(driver, cond, timeout=WAIT, message=""):
    """Poll ``cond``; an element re-rendered between finding and reading it (stale) or not
    there yet is polled again."""
    ignored = (NoSuchElementException, StaleElementReferenceException)
    return WebDriverWait(driver, timeout, poll_frequency=0.1, ignored_exceptions=ignored).until(
        cond, message
    )


def player_state(driver) -> dict:
    return driver.execute_script(
        "const p = document.getElementById('player');"
        "if (!p) return {t: -1, paused: true, ready: -1, src: ''};"
        "return {t: p.currentTime, paused: p.paused, ready: p.readyState, src: p.currentSrc};"
    )


def current_line(driver, pane: str) -> str:
    return driver.execute_script(
        f"const el = document.querySelector('#{pane} .line.current');"
        "return el ? el.textContent : '';"
    )


def open_page(driver, url: str) -> None:
    driver.get("about:blank")
    driver.get(url)


def ask(driver, question: str):
    before = len(driver.find_elements(By.CSS_SELECTOR, "#answer .turn"))
    box = wait(driver, lambda d: d.find_element(By.ID, "ask"))
    wait(driver, lambda d: box.is_enabled())
    box.send_keys(question, Keys.ENTER)
    wait(
        driver,
        lambda d: len(d.find_elements(By.CSS_SELECTOR, "#answer .turn:not(.busy)")) > before,
        message="no answer",
    )
    turn = driver.find_elements(By.CSS_SELECTOR, "#answer .turn")[-1]
    return turn, turn.find_elements(By.CSS_SELECTOR, ".chip[data-video][data-start][data-end]")


def assert_plays_from(driver, start: float) -> None:
    try:
        wait(driver, lambda d: d.execute_script(PLAYING))
    except TimeoutException:
        pytest.fail(f"the player is not playing: {player_state(driver)}")
    state = player_state(driver)
    assert abs(state["t"] - start) < 1.0, state
    assert not state["paused"]
    time.sleep(0.6)
    later = player_state(driver)
    assert later["t"] > state["t"] and not later["paused"], (state, later)


def test_ask_then_chip_click_seeks_and_plays(browser, server):
    open_page(browser, f"{server.url}/#/v/1")
    wait(browser, lambda d: player_state(d)["ready"] >= 1, message="video did not load")
    assert player_state(browser)["src"].endswith("/videos/1/stream")
    turn, chips = ask(browser, "When is the coffee mentioned?")
    assert chips, turn.text
    chip = chips[0]
    start, end = float(chip.get_attribute("data-start")), float(chip.get_attribute("data-end"))
    assert chip.get_attribute("data-video") == "1" and end > start
    assert abs(start - 22.0) < 1.0  # the speech line "The coffee is ready in the kitchen."
    assert "coffee" not in current_line(browser, "transcript").lower()
    chip.click()
    assert_plays_from(browser, start)
    assert "coffee" in current_line(browser, "transcript").lower()
    wait(browser, lambda d: "?t=22" in d.current_url)
    # the times in the answer text are links too: "From 00:22 to 00:24."
    link = turn.find_element(By.CSS_SELECTOR, ".reply a.ts-link")
    browser.execute_script("document.getElementById('player').currentTime = 50")
    link.click()
    assert_plays_from(browser, 22.0)
    browser.execute_script("document.getElementById('player').pause()")
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "web-video.png"
    browser.execute_script("document.activeElement.blur()")
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 20_000


def test_library_scope_chat_follow_up_opens_the_video(browser, server):
    open_page(browser, f"{server.url}/#/")
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".card[data-video='1']"))
    assert browser.find_element(By.ID, "scope").get_attribute("value") == ""
    n = len(server.histories)
    _, chips = ask(browser, "When does someone talk about flowers?")
    assert chips and abs(float(chips[0].get_attribute("data-start")) - 42.0) < 1.0
    _, chips2 = ask(browser, "And when is the coffee mentioned?")
    assert server.histories[n:] == [0, 1]  # the follow-up carried the first turn
    assert chips2
    start = float(chips2[0].get_attribute("data-start"))
    chips2[0].click()  # navigates from the library to the video page, then plays
    wait(browser, lambda d: d.find_elements(By.ID, "player"))
    assert_plays_from(browser, start)
    assert browser.find_element(By.ID, "scope").get_attribute("value") == "1"
    # "New chat" forgets the history
    browser.find_element(By.ID, "new-chat").click()
    ask(browser, "When is the coffee mentioned?")
    assert server.histories[-1] == 0


def test_library_page_thumbnails_and_index_job_progress(browser, server, index_root):
    open_page(browser, f"{server.url}/#/")
    card = wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, ".card[data-video='1']"))
    assert "talk.mp4" in card.text and "1:00" in card.text and "indexed" in card.text
    wait(
        browser,
        lambda d: d.execute_script(
            "const i = document.querySelector('.card img.thumb');"
            "return i.complete && i.naturalWidth > 0;"
        ),
        message="thumbnail did not load",
    )
    browser.find_element(By.ID, "index-path").send_keys(str(index_root / "broken.mp4"), Keys.ENTER)
    job = wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, ".job.done"), message="no job")
    assert "broken.mp4" in job.text and "1 failed" in job.text
    failed = wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, ".card.status-failed"))
    assert "broken.mp4" in failed.text and "failed" in failed.text and "not a video" in failed.text
    # a job started elsewhere (here: by another HTTP client) shows up on its own
    other = index_root / "other.mp4"
    other.write_bytes(b"not a video either")
    res = httpx.post(f"{server.url}/index", json={"paths": [str(other)]}, timeout=10)
    assert res.status_code == 202
    wait(browser, lambda d: "other.mp4" in d.find_element(By.CSS_SELECTOR, ".jobs").text)
    wait(
        browser,
        lambda d: d.find_elements(By.CSS_SELECTOR, ".card.status-failed[title$='other.mp4']"),
    )
    browser.find_element(By.ID, "index-path").send_keys("/etc", Keys.ENTER)
    wait(browser, lambda d: "index-root" in d.find_element(By.CSS_SELECTOR, ".form-msg").text)


def test_search_result_opens_the_video_at_the_hit(browser, server):
    open_page(browser, f"{server.url}/#/")
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".card"))
    browser.find_element(By.ID, "search").send_keys("coffee kitchen", Keys.ENTER)
    result = wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, ".result[data-start]"))
    assert "coffee" in result.text.lower()
    start = float(result.get_attribute("data-start"))
    result.click()
    assert_plays_from(browser, start)


def test_deep_link_timeline_hover_and_on_screen_text(browser, server):
    open_page(browser, f"{server.url}/#/v/1?t=42")
    wait(browser, lambda d: player_state(d)["ready"] >= 1)
    wait(browser, lambda d: abs(player_state(d)["t"] - 42) < 0.5, message="deep link t ignored")
    assert player_state(browser)["paused"]
    assert "flowers" in current_line(browser, "transcript").lower()
    texts = browser.find_elements(By.CSS_SELECTOR, "#ocr .line")
    assert len(texts) == 1 and SLIDE in texts[0].text and "0:10" in texts[0].text
    texts[0].click()
    assert_plays_from(browser, 10.0)
    assert SLIDE in current_line(browser, "ocr")
    seg = browser.find_element(By.CSS_SELECTOR, ".tl-seg[data-start='30']")
    ActionChains(browser).move_to_element(seg).perform()
    tip = wait(browser, lambda d: d.find_element(By.ID, "tip"))
    wait(browser, lambda d: tip.is_displayed() and "pink flower" in tip.text)
    assert "daisy" in tip.text and "0:30–0:40" in tip.text
    frames = browser.find_elements(By.CSS_SELECTOR, "#keyframes .kf img")
    assert len(frames) == 6
    wait(
        browser,
        lambda d: all(d.execute_script("return arguments[0].naturalWidth", f) for f in frames),
    )


def test_token_login_once_then_cookie(browser, talk):
    with (
        Library(talk[0], llm="none", models=toy_models()) as lib,
        LiveServer(create_app(lib, token=TOKEN)) as srv,
    ):
        open_page(browser, f"{srv.url}/#/")
        wait(browser, lambda d: d.find_element(By.ID, "login"))
        # re-found on every poll: the page may re-render the dialog while it loads
        wait(
            browser,
            lambda d: d.find_element(By.ID, "login").is_displayed(),
            message="no login dialog",
        )
        browser.find_element(By.ID, "token").send_keys("wrong", Keys.ENTER)
        wait(browser, lambda d: d.find_element(By.ID, "login-error").is_displayed())
        field = browser.find_element(By.ID, "token")
        field.clear()
        field.send_keys(TOKEN, Keys.ENTER)
        wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".card[data-video='1']"))
        (cookie,) = [c for c in browser.get_cookies() if c["name"] == "hourlens_session"]
        assert (
            cookie["httpOnly"] and cookie["sameSite"] == "Strict" and TOKEN not in cookie["value"]
        )
        assert browser.execute_script("return document.cookie") == ""
        open_page(browser, f"{srv.url}/#/v/1?t=22")  # no second prompt; the video streams
        wait(browser, lambda d: player_state(d)["ready"] >= 1)
        assert not browser.find_element(By.ID, "login").is_displayed()
        wait(browser, lambda d: d.find_element(By.ID, "logout"))
        wait(
            browser,
            lambda d: d.find_element(By.ID, "logout").is_displayed(),
            message="no Log out after a reload",
        )
        browser.find_element(By.ID, "logout").click()
        wait(browser, lambda d: d.find_element(By.ID, "login").is_displayed())
        assert not [c for c in browser.get_cookies() if c["name"] == "hourlens_session"]


def test_gone_source_file_still_shows_keyframes(browser, tmp_path):
    lib_dir, video, _ = build_talk_library(tmp_path)
    video.unlink()
    with (
        Library(lib_dir, llm="none", models=toy_models()) as lib,
        LiveServer(create_app(lib)) as srv,
    ):
        open_page(browser, f"{srv.url}/#/v/1?t=35")
        banner = wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, ".player-box .banner"))
        wait(browser, lambda d: banner.is_displayed() and "gone" in banner.text)
        still = browser.find_element(By.CSS_SELECTOR, ".player-box .still")
        wait(browser, lambda d: d.execute_script("return arguments[0].naturalWidth", still) > 0)
        assert still.get_attribute("src").endswith("/keyframes/3.jpg")  # the flower at 0:35
        browser.find_element(By.CSS_SELECTOR, ".tl-seg[data-start='10']").click()
        wait(browser, lambda d: still.get_attribute("src").endswith("/keyframes/1.jpg"))
        assert SLIDE in current_line(browser, "ocr")


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")
def test_real_index_ask_and_play(browser, tmp_path):
    """The whole path with the packaged models: index the generated talk (speech
    recognition, OCR, frame encoder), then ask in the page and play the cited moment."""
    from click.testing import CliRunner
    from web_media import make_talk

    from hourlens.cli import cli

    video, _ = make_talk(tmp_path / "talk.mp4")
    lib_dir = tmp_path / "lib"
    res = CliRunner().invoke(
        cli,
        ["--library", str(lib_dir), "index", "--json", "--no-progress", str(video)],
        catch_exceptions=False,
    )
    assert res.exit_code == 0, res.output
    with Library(lib_dir, llm="none") as lib, LiveServer(create_app(lib)) as srv:
        open_page(browser, f"{srv.url}/#/v/1")
        wait(browser, lambda d: player_state(d)["ready"] >= 1)
        lines = browser.find_elements(By.CSS_SELECTOR, "#transcript .line")
        assert any("coffee" in ln.text.lower() for ln in lines), [ln.text for ln in lines]
        _, chips = ask(browser, "When is the coffee mentioned?")
        assert chips
        start = float(chips[0].get_attribute("data-start"))
        assert 20.0 <= start <= 25.0, start  # spoken at 0:22
        chips[0].click()
        assert_plays_from(browser, start)
        assert "coffee" in current_line(browser, "transcript").lower()
        browser.execute_script("document.getElementById('player').pause()")
        ARTIFACTS.mkdir(exist_ok=True)
        browser.save_screenshot(str(ARTIFACTS / "web-video-indexed.png"))
