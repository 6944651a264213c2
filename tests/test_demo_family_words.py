"""The demo families' descriptions: the CLI's English stays as it was, the app words them in Chinese too."""

from __future__ import annotations

from model_backend.demo_checkpoint.families import FAMILIES


def test_the_english_description_is_unchanged_and_the_chinese_one_keeps_the_model_names() -> None:
    qwen2_5 = FAMILIES["qwen2_5"].stands_for
    assert str(qwen2_5) == "InternVL2.5-1B and InternVL3-1B/2B/8B (Qwen2.5, internvl2_5)"
    assert qwen2_5.render("zh") == "InternVL2.5-1B 和 InternVL3-1B/2B/8B（Qwen2.5, internvl2_5）"
    assert str(FAMILIES["qwen2"].stands_for) == "InternVL2-1B (Qwen2-0.5B, Hermes-2)"


def test_no_description_shows_english_words_in_chinese() -> None:
    from i18n import Text

    english_words = {"and", "or", "with", "for"}
    for family in FAMILIES.values():
        shown = family.stands_for.render("zh") if isinstance(family.stands_for, Text) else family.stands_for
        assert not english_words & set(shown.replace("(", " ").replace(")", " ").split()), (family.name, shown)


def test_settings_shows_the_demo_family_in_the_visitors_language(monkeypatch, tmp_path_factory) -> None:
    from streamlit.testing.v1 import AppTest

    from tests.app.conftest import ROOT

    monkeypatch.setenv("INTERNVL_MODEL", "demo")
    monkeypatch.setenv("INTERNVL_STUDIO_CACHE", str(tmp_path_factory.getbasetemp() / "studio-cache"))
    for language, expected in (
        ("zh", "qwen2_5: InternVL2.5-1B 和 InternVL3-1B/2B/8B（Qwen2.5, internvl2_5）"),
        ("en", "qwen2_5: InternVL2.5-1B and InternVL3-1B/2B/8B (Qwen2.5, internvl2_5)"),
    ):
        app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        app.session_state["ui_language"] = language
        app.run()
        app.switch_page("app_pages/settings.py").run()
        assert not app.exception, app.exception
        assert app.selectbox(key="ckpt_demo").format_func("demo-qwen2_5") == expected
