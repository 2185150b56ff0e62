"""Lessons: every arithmetic line the committed lessons print is evaluated here, independently of
archscope's own evaluator; the rest of each number comes from the trace (checked by the staleness
test, which regenerates them)."""

import math
import re
from pathlib import Path

import pytest

from archscope.cli import main

LESSONS = Path(__file__).resolve().parent.parent / "reports" / "lessons"
CALC = re.compile(r"`([^`]*?) (=|≈) ([^`=≈]+)`")


def value_of(expression: str) -> float:
    """Lesson arithmetic (⌊ ⌋ ⌈ ⌉ · × − and 1,024) in plain Python, nothing but numbers and operators."""
    text = re.sub(r"(\d),(\d{3})", r"\1\2", expression)
    text = re.sub(r"(\d),(\d{3})", r"\1\2", text)
    text = (text.replace("⌊", "math.floor(").replace("⌋", ")").replace("⌈", "math.ceil(").replace("⌉", ")")
            .replace("·", "*").replace("×", "*").replace("−", "-"))
    assert re.fullmatch(r"[\d\s+\-*/().]*", text.replace("math.floor", "").replace("math.ceil", "")), expression
    return eval(text, {"math": math, "__builtins__": {}})  # noqa: S307 — digits and operators only


def lesson_files(pattern: str) -> list[Path]:
    return sorted(LESSONS.glob(pattern))


def test_the_committed_lessons_are_all_there():
    models = {path.parent.name for path in lesson_files("*/lesson.en.md")}
    assert {"googlenet", "googlenet-paper", "inception-mnist", "resnet-mnist", "inception-v3",
            "inception-resnet-v2", "inception-v1-block", "inception-v3-block"} <= models
    for model in models:
        for name in ("lesson.en.md", "lesson.en.html", "lesson.zh.md", "lesson.zh.html"):
            assert (LESSONS / model / name).is_file(), (model, name)


@pytest.mark.parametrize("path", lesson_files("*/lesson.*.md"), ids=lambda path: f"{path.parent.name}/{path.name}")
def test_every_arithmetic_line_holds(path):
    lines = CALC.findall(path.read_text(encoding="utf-8"))
    assert len(lines) >= 10, "a lesson shows its arithmetic"
    for expression, sign, shown in lines:
        value = value_of(expression)
        number = float(shown.replace(",", ""))
        if sign == "=":
            assert value == number, f"{expression} = {shown}"
        else:
            decimals = len(shown.partition(".")[2])
            assert round(value, decimals) == number, f"{expression} ≈ {shown}"


@pytest.mark.parametrize("path", lesson_files("*/lesson.*.md"), ids=lambda path: f"{path.parent.name}/{path.name}")
def test_at_least_eight_exercises_each_answered(path):
    text = path.read_text(encoding="utf-8")
    exercises = text.split("\n## ")[-1].split("\n", 1)[1]  # the last section, below its heading
    questions, answers = exercises.split("\n### ")
    numbered = [re.findall(r"^\d+\. (.*)$", part, re.M) for part in (questions, answers)]
    assert len(numbered[0]) >= 8 and len(numbered[0]) == len(numbered[1])
    assert not [question for question in numbered[0] if "  " in question or "()" in question]  # every name filled


def test_googlenet_lesson_by_hand():
    text = (LESSONS / "googlenet" / "lesson.en.md").read_text(encoding="utf-8")
    assert "`⌊(224 + 2·3 − 7) / 2⌋ + 1 = 112`" in text  # conv1 (the example)
    assert "`⌈(112 − 3) / 2⌉ + 1 = 56`" in text and "`⌊(112 − 3) / 2⌋ + 1 = 55`" in text  # ceil_mode decides
    assert f"`192·96 + 3·3·96·128 = {192 * 96 + 96 * 128 * 9:,}`" in text  # inception3a's 3×3 path
    assert "000-c2-stride" in text  # 000's stride statement, refuted by the shapes
    shapes = text.split("## 2.")[1].split("## 3.")[0]
    rows = [line.split(" | ")[0].strip("| ") for line in shapes.splitlines() if line.startswith("| ") and "`" in line]
    # the size-changing conv1 and four max pools, and the first 1×1, 3×3/1 conv and 3×3/1 pool; no aux head
    assert rows == ["conv1.layers.0", "maxpool1", "conv2.layers.0", "conv3.layers.0", "maxpool2",
                    "inception3a.branch4.0", "maxpool3", "maxpool4"]


def test_a_hard_coded_flatten_breaks_at_another_size():
    text = (LESSONS / "inception-mnist" / "lesson.en.md").read_text(encoding="utf-8")
    pitfalls = text.split("## 6.")[1].split("## 7.")[0]
    # 60×60 gives 88 channels of 12×12 where fc was sized for 88·4·4 = 1408
    assert "60×60" in pitfalls and str(88 * 12 * 12) in pitfalls and "1408" in pitfalls


def test_the_chinese_lesson_has_the_same_numbers():
    for model in ("googlenet", "inception-mnist"):
        english = (LESSONS / model / "lesson.en.md").read_text(encoding="utf-8")
        chinese = (LESSONS / model / "lesson.zh.md").read_text(encoding="utf-8")
        assert CALC.findall(english) == CALC.findall(chinese)
        assert re.search(r"[\u4e00-\u9fff]{20}", chinese.replace("\n", ""))


def test_teach_command(tmp_path, capsys):
    assert main(["teach", "inception-v1-block", "--out", str(tmp_path)]) == 0
    assert main(["teach", "inception-v1-block", "--lang", "zh", "--out", str(tmp_path)]) == 0
    names = sorted(path.name for path in (tmp_path / "inception-v1-block").iterdir())
    assert names == ["lesson.en.html", "lesson.en.md", "lesson.zh.html", "lesson.zh.md"]
    assert main(["teach", "googlenet-v9", "--out", str(tmp_path)]) == 2
    assert "unknown model 'googlenet-v9'" in capsys.readouterr().err
    assert main(["teach", "--out", str(tmp_path)]) == 2
    with pytest.raises(SystemExit):
        main(["teach", "googlenet", "--lang", "fr"])


def test_the_evaluator_reads_lesson_arithmetic():
    assert value_of("⌊(224 + 2·3 − 7) / 2⌋ + 1") == 112
    assert value_of("⌈(112 − 3) / 2⌉ + 1") == 56
    assert value_of("192·96 + 96·3·3·128") == 129_024
    assert value_of("100 · 6,379,984 / 13,385,816") == pytest.approx(47.66, abs=0.005)
    with pytest.raises(AssertionError):
        value_of("__import__('os')")
