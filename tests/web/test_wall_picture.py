"""The wall screen's picture: thresholds, display names, each agent once, and a status that
is live only when every source is."""

from __future__ import annotations

from hotline.commands.demo import demo_agent_names
from hotline.settings import Settings
from hotline.web.app import wall_config
from hotline.web.wall_picture import DisplayNames, WallConfig, level, wall_status
from hotline.web.wallboard import build_snapshot
from tests.web.fake_live import FakeLive


def test_levels_follow_the_direction_of_the_threshold() -> None:
    rate = (0.85, 0.80)  # lower is worse
    assert [level(v, rate) for v in (0.9, 0.85, 0.84, 0.80, 0.79)] == [
        "ok", "ok", "amber", "amber", "red"
    ]  # fmt: skip
    wait = (15, 30)  # higher is worse
    assert [level(v, wait) for v in (0, 14, 15, 29, 30)] == ["ok", "ok", "amber", "amber", "red"]
    assert level(None, wait) is None


def test_display_names_never_show_interfaces_or_queue_ids() -> None:
    names = DisplayNames(
        WallConfig(
            queue_names={"hotline-general": "综合咨询", "hotline-report": ""},
            agent_names={"agent7": "周敏", "PJSIP/1009": "孙丽", "Robot Agent 8": "马超"},
        )
    )
    assert names.queue("hotline-general") == "综合咨询"
    assert names.queue("hotline-report") == "队列 2"  # configured, second, unnamed
    assert names.queue("hotline-extra") == "队列 3"
    assert names.agent("Local/agent7@agent-robot/n", "Robot Agent 7") == "周敏"
    assert names.agent("PJSIP/1009", "PJSIP/1009") == "孙丽"
    assert names.agent("Local/agent8@agent-robot/n", "Robot Agent 8") == "马超"
    assert names.agent("PJSIP/1010", "陈静") == "陈静"  # app_queue's MemberName
    assert names.agent("Local/agent10@agent-robot/n", "Local/agent10@agent-robot/n") == "座席 10"


def test_settings_name_the_default_queues_in_chinese() -> None:
    config = wall_config(Settings())
    assert dict(config.queue_names) == {
        "hotline-general": "综合咨询",
        "hotline-complaint": "投诉",
        "hotline-report": "举报",
    }
    assert config.thresholds["answer_timeliness"] == (0.85, 0.80)


def test_status_is_live_only_when_every_source_is() -> None:
    assert wall_status({"ami": {"ok": True}, "database": {"ok": True}}, {}, 10)["live"]
    # A component that does not feed the wall (MQTT) does not make it lie.
    assert wall_status({"ami": {"ok": True}, "mqtt": {"ok": False}}, {}, 10)["live"]
    down = wall_status({"ami.pbx2": {"ok": False}, "database": {"ok": False}}, {}, 10)
    assert not down["live"]
    assert [p["component"] for p in down["problems"]] == ["ami.pbx2", "database"]
    assert "pbx2" in down["problems"][0]["en"]
    assert not wall_status(None, {}, 10)["live"]  # the health board itself failed
    assert not wall_status({}, {"queues": "RuntimeError: x"}, 10)["live"]


def test_snapshot_has_each_agent_once_and_queue_counts() -> None:
    live = FakeLive()
    live.crowd(agents=30, queues=4)
    wall = build_snapshot(live, health=lambda: {"ami": {"ok": True}}, wall=wall_config(Settings()))[
        "wall"
    ]
    assert wall["status"]["live"]
    assert len(wall["agents"]) == 30 == len({a["id"] for a in wall["agents"]})
    # Each agent sits in two queues: the rows count it in both, the board once.
    rows = wall["queues"]
    states = ("ready", "ringing", "talking", "paused", "wrap_up")
    in_rows = sum(r[state] for r in rows for state in states)
    assert in_rows == 60
    # Ringing has its own count (never added to talking), the same as on the board.
    by_state = {state: sum(r[state] for r in rows) for state in states}
    on_board = {state: 2 * n for state, n in wall["agent_counts"].items()}
    assert by_state == on_board
    assert [r["name"] for r in rows] == ["综合咨询", "投诉", "举报", "队列 4"]
    assert len(wall["trend"]) == 24 and wall["trend"][9]["offered"] == 180


def test_demo_robots_have_distinct_chinese_names() -> None:
    names = demo_agent_names(500)
    assert len(set(names.values())) == 500
    assert all("\u4e00" <= ch <= "\u9fff" for name in names.values() for ch in name)
