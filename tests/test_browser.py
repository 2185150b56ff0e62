"""The HTML report in a real browser: headless Chromium (Debian's `chromium` and `chromium-driver`,
which `.ci/run` installs), driven by selenium. Skipped, saying why, where either is missing."""

import shutil
import tempfile
from pathlib import Path

import pytest

from archscope.cli import main

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install -e '.[test]')")
if not (CHROMIUM and DRIVER):
    pytest.skip("Chromium is missing: apt-get install chromium chromium-driver (as .ci/run does)",
                allow_module_level=True)


@pytest.fixture(scope="module")
def browser():
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="archscope-chromium-")
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--no-first-run",
                     f"--user-data-dir={profile}", "--window-size=1280,900"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def open_page(browser, path: Path, width: int = 1280):
    browser.set_window_size(width, 900)
    browser.get(path.as_uri())
    browser.get_log("browser")  # start each page with an empty console log


def visible(browser, selector: str) -> list[dict]:
    return browser.execute_script("""
        return [...document.querySelectorAll(arguments[0])].map(e => {
            const r = e.getBoundingClientRect();
            return {width: r.width, height: r.height, display: getComputedStyle(e).display};
        });""", selector)


def screenshot(browser, path: Path) -> None:
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(browser.get_window_size()["width"], min(height, 8000))
    assert browser.save_screenshot(str(path))
    assert path.stat().st_size > 10_000


def test_report_in_chromium(browser, tmp_path):
    assert main(["report", "googlenet", "--input", "20,3,224,224", "--out", str(tmp_path)]) == 0
    page = tmp_path / "googlenet" / "index.html"
    open_page(browser, page)
    tables = visible(browser, "table")
    assert len(tables) >= 5 and all(t["width"] > 100 and t["height"] > 20 for t in tables)
    stage_rows = browser.execute_script("return document.querySelectorAll('table.stages tbody tr').length")
    assert stage_rows == 20  # the stem, 9 Inception blocks, 4 pools, 2 aux heads, avg pool, dropout, fc
    charts = visible(browser, "figure svg")  # the four charts and the 1×1 savings per block
    assert len(charts) == 5 and all(c["width"] > 300 and c["height"] > 100 for c in charts)
    savings = visible(browser, "table.savings")  # reductions, projections, counterfactual, receptive field, heads
    assert len(savings) == 5 and all(t["width"] > 300 for t in savings)
    totals = browser.execute_script("return document.querySelectorAll('table.savings tr.total').length")
    assert totals == 3  # the reductions' total, the counterfactual's parameters and mult-adds
    text = browser.execute_script("return document.body.innerText")
    assert "13,385,816" in text and "inception5b" in text
    assert "192×96×1×1 + 96×128×3×3 = 129,024" in text and "googlenet-naive" in text
    verdicts = browser.execute_script(
        "return [...document.querySelectorAll('table.claims .verdict')].map(e => e.className)")
    assert sum(name == "verdict reproduced" for name in verdicts) >= 169  # 003's printed figures, at least
    open_rows = visible(browser, ".tree details[open] > summary")
    assert open_rows and all(r["height"] > 0 for r in open_rows)
    assert [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"] == []
    screenshot(browser, tmp_path / "googlenet.png")


def test_claims_page_in_chromium(browser, tmp_path):
    """reports/claims.html as committed: every claim, contradicted ones first in each source's table."""
    page = Path(__file__).resolve().parent.parent / "reports" / "claims.html"
    open_page(browser, page)
    groups = browser.execute_script("""
        return [...document.querySelectorAll('table.claims')].map(t =>
            [...t.querySelectorAll('tbody tr td:first-child .verdict:first-child')].map(e => e.textContent))""")
    assert len(groups) >= 6
    order = {"✗ contradicted": 0, "– not checkable": 1, "✓ reproduced": 2}
    for badges in groups:
        assert [order[badge] for badge in badges] == sorted(order[badge] for badge in badges)
    assert any("✗ contradicted" in badges for badges in groups)
    chinese = browser.execute_script("return document.querySelectorAll('td[lang=zh]').length")
    assert chinese > 0
    assert browser.execute_script("return document.querySelectorAll('script').length") == 0
    assert [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"] == []
    screenshot(browser, tmp_path / "claims.png")


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_lesson_in_chromium(browser, tmp_path, lang):
    """The committed googlenet lesson: its tables and arithmetic visible, no script, no error, and no
    horizontal scrolling of the page on a phone."""
    page = Path(__file__).resolve().parent.parent / "reports" / "lessons" / "googlenet" / f"lesson.{lang}.html"
    open_page(browser, page)
    tables = visible(browser, "table")
    assert len(tables) >= 5 and all(t["width"] > 100 and t["height"] > 20 for t in tables)
    calcs = visible(browser, "code.calc")
    assert len(calcs) >= 40 and all(c["width"] > 20 and c["height"] > 5 for c in calcs)
    assert browser.execute_script("return document.documentElement.lang") == lang
    exercises = browser.execute_script("return document.querySelectorAll('ol.exercises')[0].children.length")
    assert exercises >= 8
    assert browser.execute_script("return document.querySelectorAll('script').length") == 0
    assert [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"] == []
    screenshot(browser, tmp_path / f"lesson-{lang}.png")
    open_page(browser, page, width=390)
    page_width, viewport = browser.execute_script(
        "return [document.documentElement.scrollWidth, window.innerWidth]")
    assert page_width <= viewport


def test_phone_width_scrolls_tables_not_the_page(browser, tmp_path):
    assert main(["report", "googlenet-paper", "--out", str(tmp_path)]) == 0
    open_page(browser, tmp_path / "googlenet-paper" / "index.html", width=390)
    page_width, viewport = browser.execute_script(
        "return [document.documentElement.scrollWidth, window.innerWidth]")
    assert page_width <= viewport
    screenshot(browser, tmp_path / "phone.png")


def test_a_script_in_a_name_is_text(browser, tmp_path):
    spec = f"{Path(__file__).with_name('test_report.py')}:evil_model"
    assert main(["report", spec, "--input", "1,4", "--out", str(tmp_path)]) == 0
    (report,) = [path for path in tmp_path.iterdir() if path.is_dir()]
    open_page(browser, report / "index.html")
    assert browser.execute_script("return document.querySelectorAll('script').length") == 0
    text = browser.execute_script("return document.body.innerText")
    assert "<script>alert(1)</script>" in text and "Evil|`name`*" in text
    assert [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"] == []
    screenshot(browser, tmp_path / "evil.png")


HOSTILE = '<img src=x onerror="document.title=\'pwned\'">|*[a](javascript:alert(1))`$x$&amp;</style>'
HOSTILE_MODEL = f"""
from torch import nn
Hostile = type({HOSTILE!r}, (nn.Conv2d,), {{}})

def make():
    model = nn.Sequential()
    model.add_module("<b>bold</b>", Hostile(3, 8, 3, padding=1))
    model.add_module("[link](javascript:alert(2))", nn.Conv2d(8, 8, 1))
    return model
"""


def test_markup_in_class_and_module_names_is_text_everywhere_in_the_page(browser, tmp_path):
    """HTML, Markdown and CSS specials in names a user's code chooses: no element is made of them, no
    handler runs, and the page shows them verbatim (tables, charts' labels, the layer list)."""
    (tmp_path / "hostile.py").write_text(HOSTILE_MODEL)
    assert main(["report", f"{tmp_path / 'hostile.py'}:make", "--input", "1,3,8,8", "--out", str(tmp_path / "r")]) == 0
    (report,) = (tmp_path / "r").iterdir()
    open_page(browser, report / "index.html")
    browser.execute_script("return new Promise(done => setTimeout(done, 300))")  # time for an onerror to fire
    assert browser.title != "pwned"
    counts = browser.execute_script("""return {
        made: document.querySelectorAll('img, b, style ~ style, [onerror], a[href^="javascript"]').length,
        scripts: document.querySelectorAll('script').length}""")
    assert counts == {"made": 0, "scripts": 0}
    text = browser.execute_script("return document.body.innerText")
    assert HOSTILE in text and "<b>bold</b>" in text and "[link](javascript:alert(2))" in text
    assert [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"] == []
