"""Settings page: both languages, changes not applied kept and announced, the catalog's preselection,
the flash-attention default, the answer settings applied at once and a first draw without heavy work."""

from __future__ import annotations

import pytest
import torch
from fake_engine import FakeEngine
from streamlit.testing.v1 import AppTest

from model_backend.checkpoints.catalog import DEFAULT_CHECKPOINT, find_entry
from model_backend.settings import LoadSpec
from tests.app.conftest import PAGES, ROOT, start, use_engine

UNAPPLIED_EN = "You have changes that are not applied: press **Apply / Load** to load them."
UNAPPLIED_ZH = "你有尚未应用的更改：点击 **应用 / 加载** 来加载。"
cpu_only = pytest.mark.skipif(torch.cuda.is_available(), reason="the defaults differ where CUDA is present")


def _settings(language: str = "en", **state: object) -> AppTest:
    """The Settings page in `language`, with `state` in the session before the first run."""
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    app.session_state["ui_language"] = language
    for key, value in state.items():
        app.session_state[key] = value
    use_engine(app, FakeEngine())
    app.run()
    app.switch_page(PAGES["settings"]).run()
    assert not app.exception, app.exception
    return app


def _apply(app: AppTest, label: str = "Apply / Load") -> None:
    next(b for b in app.button if b.label == label).click().run()
    app.run()  # AppTest keeps the tree of the run that called st.rerun: draw the page again
    assert not app.exception, app.exception


def _warnings(app: AppTest) -> list[str]:
    return [w.value for w in app.warning]


def _leave_and_come_back(app: AppTest) -> None:
    app.switch_page(PAGES["image"]).run()
    app.switch_page(PAGES["settings"]).run()
    assert not app.exception, app.exception


@cpu_only
def test_the_page_speaks_chinese() -> None:
    app = _settings("zh")
    assert app.title[0].value == "设置"
    assert [s.value for s in app.subheader][:2] == ["模型", "回答"]
    assert app.radio(key="backend_choice").label == "后端"
    assert app.radio(key="ckpt_source").label == "模型来源"
    assert app.radio(key="decoding").label == "解码方式"
    assert app.selectbox(key="ckpt_catalog").label == "模型"
    assert app.selectbox(key="quant").label == "量化"
    assert app.number_input(key="max_new").label == "最多生成的 token 数"
    assert app.text_area(key="system").label == "系统提示词（留空则使用模型自带的）"
    assert [b.label for b in app.main.button] == ["应用 / 加载", "开始检查"]  # the sidebar may list loaded models
    assert [e.label for e in app.expander] == ["已知模型", "环境检查"]
    captions = [c.value for c in app.caption]
    assert "这些设置立即生效，从下一个回答开始使用。" in captions
    assert "所需显存：InternVL2-1B 约 2.8 GB（不量化，bf16）· 没有 GPU：在 CPU 上运行" in captions
    app.radio(key="ckpt_source").set_value("folder").run()
    app.text_input(key="ckpt_folder").set_value("/no/such/folder")
    next(b for b in app.button if b.label == "应用 / 加载").click().run()
    assert [e.value for e in app.error] == ["未应用: 文件夹 /no/such/folder 不存在。"]


def test_a_server_only_checkpoint_says_why_in_the_visitors_language() -> None:
    app = _settings("zh")
    app.selectbox(key="ckpt_catalog").set_value("InternVL3_5-GPT-OSS-20B-A4B-Preview").run()
    assert (
        "InternVL3_5-GPT-OSS-20B-A4B-Preview 只能在服务器上运行（它的 GPT-OSS 语言模型需要 transformers >= 4.55"
        "（本应用固定为 4.51.3）；请用 vLLM 运行它）：请选择服务器后端。"
    ) in _warnings(app)


@cpu_only
def test_the_memory_line_says_no_quantization_in_words() -> None:
    app = _settings()
    assert "Memory estimate: about 2.8 GB for InternVL2-1B (no quantization, bf16) · no GPU: runs on CPU" in [
        c.value for c in app.caption
    ]
    assert app.selectbox(key="quant").format_func("none") == "No quantization"


def test_changes_not_applied_are_announced_and_kept_when_leaving_the_page() -> None:
    app = _settings()
    assert UNAPPLIED_EN not in _warnings(app)  # the form starts from the active settings
    app.radio(key="ckpt_source").set_value("demo").run()
    assert UNAPPLIED_EN in _warnings(app)
    _leave_and_come_back(app)
    assert app.radio(key="ckpt_source").value == "demo"  # kept, not dropped
    assert UNAPPLIED_EN in _warnings(app)
    app.session_state["ui_language"] = "zh"
    app.run()
    assert UNAPPLIED_ZH in _warnings(app)
    _apply(app, "应用 / 加载")
    assert app.session_state["load_spec"].checkpoint == "demo"
    assert UNAPPLIED_ZH not in _warnings(app)
    assert "settings_pending" not in app.session_state
    _leave_and_come_back(app)
    assert app.radio(key="ckpt_source").value == "demo"  # now from the active settings


def test_kept_changes_give_way_when_the_active_model_changes_elsewhere() -> None:
    app = _settings()
    app.radio(key="ckpt_source").set_value("folder").run()
    app.switch_page(PAGES["image"]).run()
    app.session_state["load_spec"] = LoadSpec("demo")  # as the sidebar's "Use the offline demo checkpoint" does
    app.switch_page(PAGES["settings"]).run()
    assert app.radio(key="ckpt_source").value == "demo"
    assert UNAPPLIED_EN not in _warnings(app)


def test_the_catalog_preselects_the_active_checkpoint_else_the_default() -> None:
    default = find_entry(DEFAULT_CHECKPOINT).name
    app = _settings()
    assert app.radio(key="ckpt_source").value == "catalog"
    assert app.selectbox(key="ckpt_catalog").value == default
    app = _settings(load_spec=LoadSpec("demo"))
    app.radio(key="ckpt_source").set_value("catalog").run()
    assert app.selectbox(key="ckpt_catalog").value == default  # not the catalog's first row
    app = _settings(load_spec=LoadSpec("InternVL2-8B"))
    assert app.selectbox(key="ckpt_catalog").value == "InternVL2-8B"
    assert UNAPPLIED_EN not in _warnings(app)


def test_the_active_hub_id_is_not_reloaded_under_its_catalog_name() -> None:
    app = _settings(load_spec=LoadSpec(DEFAULT_CHECKPOINT))
    _apply(app)
    assert app.session_state["load_spec"].checkpoint == DEFAULT_CHECKPOINT


@cpu_only
def test_flash_attention_is_off_by_default_without_cuda() -> None:
    assert LoadSpec("demo").flash_attention is False
    app = _settings()
    assert app.checkbox(key="flash").value is False
    assert app.session_state["load_spec"].flash_attention is False


def test_answer_settings_apply_at_once_and_survive_leaving_the_page() -> None:
    app = _settings()
    app.number_input(key="max_new").set_value(96).run()
    app.radio(key="decoding").set_value("sampling").run()
    settings = app.session_state["generation_settings"]
    assert (settings.max_new_tokens, settings.do_sample) == (96, True)
    assert UNAPPLIED_EN not in _warnings(app)  # nothing to load for these
    _leave_and_come_back(app)
    assert app.number_input(key="max_new").value == 96
    assert app.radio(key="decoding").value == "sampling"


def test_the_first_draw_does_no_catalog_table_and_the_table_comes_when_opened() -> None:
    app = start("settings", FakeEngine())
    assert not app.dataframe  # the expander is closed: no table built (pandas, ~1 s on a cold server)
    app.session_state["known_checkpoints"] = True  # what opening the expander sends
    app.run()
    columns = list(app.dataframe[0].value.columns)
    assert columns[:3] == ["checkpoint", "params (B)", "LLM"]


def test_the_environment_check_follows_the_language() -> None:
    app = _settings()
    app.button(key="run_doctor").click().run()
    assert not app.exception, app.exception
    shown = " ".join(m.value for m in [*app.markdown, *app.warning, *app.error])
    assert "**disk**" in shown and "GB free for" in shown
    app.session_state["ui_language"] = "zh"
    app.run()  # the report is kept: it shows again, in Chinese, without checking again
    shown = " ".join(m.value for m in [*app.markdown, *app.warning, *app.error])
    assert "**磁盘**" in shown and "所在磁盘剩余" in shown, shown
    assert "**Python**" in shown


def test_a_user_sees_the_active_checkpoint_preselected_and_no_false_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTERNVL_PASSWORD", "team")  # a gate, so the session's role is "user", not "admin"
    app = _settings("zh", role="user")
    assert app.selectbox(key="ckpt_offered").value == find_entry(DEFAULT_CHECKPOINT).name
    assert UNAPPLIED_ZH not in _warnings(app)
    assert "管理员可以加载其他模型、Hub 模型 ID 和文件夹。" in [c.value for c in app.caption]
    app.selectbox(key="ckpt_offered").set_value("demo").run()
    assert UNAPPLIED_ZH in _warnings(app)
