"""The rendered inbound path, walked step by step for each way a call can go."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from hotline.asterisk_config import render_all
from hotline.settings import Settings
from tests.asterisk_conf.conf import section
from tests.asterisk_conf.dialplan_runner import Channel, Hangup, run

CALLER = {"UNIQUEID": "1795445274.1", "CALLERID(num)": "13800138001", "CALLERID(all)": "张三"}


def ivr_sets(**variables: str) -> Callable[[Channel, str], None]:
    """The FastAGI IVR answers and sets these; the fallback script does what Asterisk would."""

    def agi(channel: Channel, args: str) -> None:
        if args.startswith("agi://") and args.endswith("/ivr"):
            channel.variables.update(variables)
        elif args.startswith("hotline_fallback.py,"):
            channel.variables.update(
                {
                    "AGISTATUS": "SUCCESS",
                    "HOTLINE_QUEUE": "hotline-general",
                    "HOTLINE_CHOICE": "fallback",
                    "HOTLINE_PRIORITY": "0",
                }
            )

    return agi


def queue_result(**variables: str) -> Callable[[Channel, str], None]:
    def queue(channel: Channel, args: str) -> None:
        if variables.get("hangup"):
            raise Hangup  # the caller hung up while waiting: Queue() returns -1
        channel.variables.update(variables)

    return queue


def call(
    settings: Settings,
    agi: Callable[[Channel, str], None],
    queue: Callable[[Channel, str], None],
) -> Channel:
    dialplan = render_all(settings)["extensions.conf"]
    globals_ = {k: v[0] for k, v in section(dialplan, "globals").items()}
    channel = Channel(variables=dict(CALLER))
    return run(
        dialplan,
        settings.pbx.inbound_context,
        settings.pbx.hotline_number,
        channel,
        agi,
        queue,
        globals_,
    )


def apps(channel: Channel) -> list[str]:
    return [step.split("(")[0] for step in channel.trace]


def test_ivr_route_with_priority_is_recorded_and_queued(settings: Settings) -> None:
    channel = call(
        settings,
        ivr_sets(
            AGISTATUS="SUCCESS",
            HOTLINE_QUEUE="hotline-complaint",
            HOTLINE_CHOICE="3",
            HOTLINE_PRIORITY="5",
        ),
        queue_result(hangup="yes"),
    )
    assert channel.trace == [
        "NoOp(Hotline call from 张三)",
        "Answer()",
        "Playback(hotline/recording-notice)",
        "AGI(agi://127.0.0.1:4573/ivr)",
        "NoOp(AGISTATUS=SUCCESS queue=hotline-complaint choice=3 prio=5)",
        "MixMonitor(hotline-1795445274.1.wav,b)",
        "Queue(hotline-complaint,tc,,,60)",
        "Hangup",
    ]
    assert channel.variables["QUEUE_PRIO"] == "5"


@pytest.mark.parametrize(
    "ivr",
    [
        {"AGISTATUS": "FAILURE"},  # the service is down: connection refused
        {"AGISTATUS": "SUCCESS"},  # it answered but set no queue (crashed mid-call)
    ],
)
def test_degraded_path_runs_the_local_script_then_queues(
    settings: Settings, ivr: dict[str, str]
) -> None:
    channel = call(settings, ivr_sets(**ivr), queue_result(hangup="yes"))
    fallback = [s for s in channel.trace if s.startswith("AGI(hotline_fallback.py")]
    assert fallback == [
        "AGI(hotline_fallback.py,--announcements=/var/lib/hotline/announcements.json,"
        "--queue=hotline-general,--greeting=hotline/welcome,"
        "--greeting=hotline/emergency-notice)"
    ]
    assert channel.trace[-2:] == ["Queue(hotline-general,tc,,,60)", "Hangup"]
    assert channel.variables["HOTLINE_CHOICE"] == "fallback"
    assert "MixMonitor(hotline-1795445274.1.wav,b)" in channel.trace
    # the degraded path too: answered, and told the call is recorded before the script runs
    assert channel.trace[1:3] == ["Answer()", "Playback(hotline/recording-notice)"]


def test_even_a_failing_fallback_script_reaches_the_general_queue(settings: Settings) -> None:
    def nothing_works(channel: Channel, args: str) -> None:
        channel.variables["AGISTATUS"] = "FAILURE"

    channel = call(settings, nothing_works, queue_result(hangup="yes"))
    assert channel.trace[-2:] == ["Queue(hotline-general,tc,,,60)", "Hangup"]
    assert channel.variables["QUEUE_PRIO"] == "0"


# UNKNOWN: Queue() on a queue queues.conf does not define (a menu/PBX mismatch).
@pytest.mark.parametrize("status", ["JOINEMPTY", "UNKNOWN"])
def test_rejected_at_join_is_counted_in_queue_log(settings: Settings, status: str) -> None:
    channel = call(
        settings,
        ivr_sets(AGISTATUS="SUCCESS", HOTLINE_QUEUE="hotline-report", HOTLINE_PRIORITY="0"),
        queue_result(QUEUESTATUS=status),
    )
    after = channel.trace[channel.trace.index("Queue(hotline-report,tc,,,60)") + 1 :]
    assert after == [
        f"NoOp(QUEUESTATUS={status})",
        "QueueLog(hotline-report,1795445274.1,NONE,ENTERQUEUE,|13800138001|1)",
        "QueueLog(hotline-report,1795445274.1,NONE,EXITEMPTY,1|1|0)",
        "Playback(hotline/all-busy)",
        "Hangup",
    ]


def test_queue_timeout_asks_for_a_callback(settings: Settings) -> None:
    channel = call(
        settings,
        ivr_sets(AGISTATUS="SUCCESS", HOTLINE_QUEUE="hotline-general", HOTLINE_PRIORITY="0"),
        queue_result(QUEUESTATUS="TIMEOUT"),
    )
    assert apps(channel)[-7:] == [
        "NoOp",
        "UserEvent",
        "QueueLog",
        "Playback",
        "Record",
        "Playback",
        "Hangup",
    ]
    assert "QueueLog(hotline-general,1795445274.1,NONE,CALLBACKREQ,13800138001)" in channel.trace
    assert "Record(/var/spool/asterisk/monitor/callback-1795445274.1.wav,0,60,k)" in channel.trace


def test_answered_call_ends_with_the_survey(settings: Settings) -> None:
    channel = call(
        settings,
        ivr_sets(AGISTATUS="SUCCESS", HOTLINE_QUEUE="hotline-general", HOTLINE_PRIORITY="0"),
        # the agent hung up first: QUEUESTATUS is not set for answered calls
        queue_result(MEMBERINTERFACE="PJSIP/1001"),
    )
    assert channel.trace[-2:] == ["AGI(agi://127.0.0.1:4573/survey)", "Hangup"]
    assert not any("QueueLog" in step for step in channel.trace)


def test_no_recording_when_switched_off(settings: Settings) -> None:
    quiet = settings.model_copy(
        update={"pbx": settings.pbx.model_copy(update={"record_calls": False})}
    )
    channel = call(
        quiet,
        ivr_sets(AGISTATUS="SUCCESS", HOTLINE_QUEUE="hotline-general", HOTLINE_PRIORITY="0"),
        queue_result(hangup="yes"),
    )
    assert "MixMonitor" not in apps(channel)
    # nor the notice that the call is recorded
    assert channel.trace[:3] == [
        "NoOp(Hotline call from 张三)",
        "Answer()",
        "AGI(agi://127.0.0.1:4573/ivr)",
    ]
    assert channel.trace[-2:] == ["Queue(hotline-general,tc,,,60)", "Hangup"]
