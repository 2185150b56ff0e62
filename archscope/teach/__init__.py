"""Lessons written from the traced model (``archscope teach``): Markdown and HTML, English and Chinese."""

from __future__ import annotations

from archscope.teach.lesson import LANGUAGES, lesson

# What `make lessons` writes: the networks the articles teach and the Inception blocks.
LESSON_MODELS = ("googlenet", "googlenet-paper", "inception-mnist", "resnet-mnist", "inception-v3",
                 "inception-resnet-v2")


def lesson_models() -> list[str]:
    """``LESSON_MODELS`` and every zoo block whose name says Inception."""
    from archscope import zoo

    blocks = [name for name in zoo.names() if zoo.entry(name).family == "Blocks" and name.startswith("inception")]
    return [*LESSON_MODELS, *blocks]


def lesson_files(name: str, input_size=None, lang: str = "en") -> dict[str, str]:
    """File name → text: ``lesson.<lang>.md`` and ``lesson.<lang>.html``."""
    from archscope.render.report import render

    context = lesson(name, input_size, lang)
    return {f"lesson.{lang}.md": render("lesson.md.j2", context),
            f"lesson.{lang}.html": render("lesson.html.j2", context)}


__all__ = ["LANGUAGES", "lesson", "lesson_files", "lesson_models"]
