"""Settings: a flag beats the environment, which beats the settings file, which beats the defaults;
a bad value is one line naming the setting and where it came from; the tick rate reaches the server."""

from __future__ import annotations

import msgpack
import pytest

from showroom import defaults
from showroom.settings import SettingsError, load_settings


@pytest.fixture()
def clean(monkeypatch, tmp_path):
    """No SHOWROOM_* variables, and a working folder with no settings file."""
    import os

    for name in [n for n in os.environ if n.startswith("SHOWROOM_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_defaults_come_from_one_place(clean):
    settings = load_settings()
    assert (settings.host, settings.port, str(settings.data_dir)) == (defaults.HOST, defaults.PORT, defaults.DATA_DIR)
    assert settings.scene_path() == defaults.BUNDLED_SCENE  # run away from the repository: the bundled example


def test_a_flag_beats_the_environment_which_beats_the_file(clean, monkeypatch):
    (clean / "showroom.toml").write_text('port = 7001\nhost = "0.0.0.0"\ndata_dir = "from-file"\n')
    assert (load_settings().port, load_settings().host) == (7001, "0.0.0.0")
    monkeypatch.setenv("SHOWROOM_PORT", "7002")
    assert load_settings().port == 7002 and load_settings().host == "0.0.0.0"
    assert load_settings(port=7003).port == 7003
    assert str(load_settings(data_dir=None).data_dir) == "from-file"  # a flag not given is not a flag


def test_the_settings_file_may_be_named_in_the_environment(clean, monkeypatch):
    (clean / "event.toml").write_text("tick_hz = 30\n")
    monkeypatch.setenv("SHOWROOM_CONFIG", str(clean / "event.toml"))
    assert load_settings().tick_hz == 30
    monkeypatch.setenv("SHOWROOM_CONFIG", str(clean / "missing.toml"))
    with pytest.raises(SettingsError, match=r"SHOWROOM_CONFIG: .*missing.toml: no such settings file"):
        load_settings()


@pytest.mark.parametrize(("where", "says"), [
    ("env", "settings: port ($SHOWROOM_PORT or showroom.toml): Input should be less than or equal to 65535"),
    ("file", "settings: port ($SHOWROOM_PORT or showroom.toml): Input should be less than or equal to 65535"),
    ("flag", "settings: port (--port): Input should be less than or equal to 65535"),
])
def test_a_bad_value_is_one_line_naming_the_setting_and_where_it_came_from(clean, monkeypatch, where, says):
    flags = {}
    if where == "env":
        monkeypatch.setenv("SHOWROOM_PORT", "99999")
    elif where == "file":
        (clean / "showroom.toml").write_text("port = 99999\n")
    else:
        flags = {"port": 99999}
    with pytest.raises(SettingsError) as refused:
        load_settings(**flags)
    assert str(refused.value) == says


def test_a_misspelled_setting_in_the_file_is_refused(clean):
    (clean / "showroom.toml").write_text("prot = 8000\n")
    with pytest.raises(SettingsError, match=r"settings: prot .*Extra inputs are not permitted"):
        load_settings()


def test_the_tick_rate_setting_is_the_rate_the_server_ticks_and_announces(anniversary):
    from server.event.event import Event
    from server.event.session import Session

    class Link:
        sent: list[bytes] = []

        def send(self, data: bytes) -> bool:
            self.sent.append(data)
            return True

        def send_frame(self, head: bytes, shared: bytes) -> bool:
            return True

        def close(self, code: int, reason: str) -> None:
            pass

    event = Event(anniversary, host_token="t", tick_hz=10)
    link = Link()
    Session(event, link).receive(msgpack.packb({"type": "join", "v": 3, "name": "ada"}), now=0.0)
    welcome = msgpack.unpackb(link.sent[0])
    assert welcome["type"] == "welcome" and welcome["tick_hz"] == 10
    for k in range(10):
        event.tick(k * 0.1, 1.7e9 + k * 0.1)
    assert event.show_t == pytest.approx(1.0)  # ten ticks at 10 Hz: one second of show
