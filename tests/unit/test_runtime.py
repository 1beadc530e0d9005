from typing import Any

import pytest

from abi.config import Settings
from abi.runtime import Platform


class Recorder:
    def __init__(self, name: str, log: list[str], fail: bool = False) -> None:
        self.name = name
        self.log = log
        self.fail = fail

    def start(self) -> None:
        if self.fail:
            raise RuntimeError(f"{self.name} cannot start")
        self.log.append(f"start {self.name}")

    def stop(self) -> None:
        self.log.append(f"stop {self.name}")

    def health(self) -> dict[str, Any]:
        return {"ok": True}


def test_components_start_in_order_and_stop_in_reverse(settings: Settings) -> None:
    log: list[str] = []
    platform = Platform(settings)
    platform.register(Recorder("a", log))
    platform.register(Recorder("b", log))
    with platform:
        assert platform.readiness().ready
    assert log == ["start a", "start b", "stop b", "stop a"]


def test_failed_start_stops_what_started(settings: Settings) -> None:
    log: list[str] = []
    platform = Platform(settings)
    platform.register(Recorder("a", log))
    platform.register(Recorder("b", log, fail=True))
    with pytest.raises(RuntimeError, match="b cannot start"):
        platform.start()
    assert log == ["start a", "stop a"]


def test_readiness_reports_components_not_started(settings: Settings) -> None:
    platform = Platform(settings)
    platform.register(Recorder("a", []))
    readiness = platform.readiness()
    assert not readiness.ready
    assert readiness.components["a"] == {"ok": False, "reason": "not started"}
