"""Settings page: validation errors, applying generation settings, switching to a server or the demo."""

from __future__ import annotations

from fake_engine import FakeEngine

from model_backend.settings import GenerationSettings, LoadSpec, ServerSpec
from tests.app.conftest import start


def test_apply_stores_frozen_generation_settings() -> None:
    app = start("settings", FakeEngine())
    app.slider(key="max_tiles").set_value(20)
    app.radio(key="decoding").set_value("sampling")
    app.text_area(key="system").set_value("Be brief.")
    _apply(app)
    settings = app.session_state["generation_settings"]
    assert isinstance(settings, GenerationSettings)
    assert (settings.max_tiles, settings.do_sample, settings.system_prompt) == (20, True, "Be brief.")
    assert settings.reuse_prefix, "KV prefix reuse is on by default"


def test_the_kv_prefix_switch_reaches_the_generation_settings() -> None:
    app = start("settings", FakeEngine())
    app.toggle(key="reuse_prefix").set_value(False).run()
    assert app.session_state["generation_settings"].reuse_prefix is False
    assert "model.chat" in app.toggle(key="reuse_prefix").help


def test_bad_server_url_is_refused_with_its_reason() -> None:
    app = start("settings", FakeEngine())
    app.radio(key="backend_choice").set_value("server").run()
    app.text_input(key="url").set_value("localhost:8000")
    app.text_input(key="server_model_typed").set_value("internvl")
    _apply(app)
    assert any("must start with http://" in e.value for e in app.error), [e.value for e in app.error]
    assert "server_spec" not in app.session_state


def test_server_backend_is_applied() -> None:
    app = start("settings", FakeEngine())
    app.radio(key="backend_choice").set_value("server").run()
    app.text_input(key="url").set_value("http://127.0.0.1:9/v1")
    app.text_input(key="server_model_typed").set_value("internvl")
    _apply(app)
    assert app.session_state["server_spec"] == ServerSpec("http://127.0.0.1:9/v1", "internvl")
    assert app.session_state["backend"] == "server"


def test_missing_folder_is_refused(tmp_path) -> None:
    app = start("settings", FakeEngine())
    app.radio(key="ckpt_source").set_value("folder").run()
    app.text_input(key="ckpt_folder").set_value(str(tmp_path / "nope"))
    _apply(app)
    assert any("does not exist" in e.value for e in app.error)


def test_demo_choice_sets_the_load_spec() -> None:
    app = start("settings", FakeEngine())
    app.radio(key="ckpt_source").set_value("demo").run()
    _apply(app)
    assert app.session_state["load_spec"].checkpoint == "demo"
    assert isinstance(app.session_state["load_spec"], LoadSpec)


def _apply(app) -> None:
    next(b for b in app.button if b.label == "Apply / Load").click().run()
    assert not app.exception, app.exception


def test_a_fine_tuned_folder_gets_a_memory_estimate_from_its_weights(tmp_path) -> None:
    from model_backend.demo_checkpoint import make_demo_checkpoint

    folder = make_demo_checkpoint(tmp_path / "my-finetune")  # stands in for a folder outside the catalog
    app = start("settings", FakeEngine())
    app.radio(key="ckpt_source").set_value("folder").run()
    app.text_input(key="ckpt_folder").set_value(str(folder)).run()
    estimates = [c.value for c in app.caption if c.value.startswith("Memory estimate")]
    assert estimates and "this folder (0.26 M parameters)" in estimates[0], estimates


def test_the_environment_check_runs_on_request_and_shows_every_line() -> None:
    app = start("settings", FakeEngine())
    assert not any("transformers" in m.value for m in app.markdown)  # not on the first draw
    app.button(key="run_doctor").click().run()
    assert not app.exception, app.exception
    shown = " ".join(m.value for m in app.markdown) + " ".join(w.value for w in app.warning)
    for name in ("Python", "torch", "transformers", "bitsandbytes", "decord"):
        assert f"**{name}" in shown, (name, shown)


def test_the_answer_inputs_take_their_ranges_from_the_settings() -> None:
    """One declaration of each range: a slider that allowed more than GenerationSettings accepts would fail on Apply."""
    from model_backend.settings import GENERATION_RANGES

    app = start("settings", FakeEngine())
    sliders = {"max_tiles": "max_tiles", "temp": "temperature", "top_p": "top_p", "rep": "repetition_penalty"}
    for key, setting in sliders.items():
        assert (app.slider(key=key).min, app.slider(key=key).max) == GENERATION_RANGES[setting], key
    tokens = app.number_input(key="max_new")
    assert (tokens.min, tokens.max) == GENERATION_RANGES["max_new_tokens"]
