"""The words for a restart and a job: the console's state (`restarting (2/5) in 4s`,
`completed`), its lines, and `run.components`, from the same events a run publishes."""

from __future__ import annotations

from flowctl.console.component_status import PipelineStatus
from flowctl.console.event_log import describe_event
from flowctl.events import (
    ComponentCompleted,
    ComponentExited,
    ComponentRestarting,
    ComponentStarted,
    HealthChanged,
    ServiceRegistered,
)
from flowctl.runner.component_view import (
    ComponentBoard,
    ComponentState,
    RestartWait,
    all_healthy,
)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_restart_counts_down_then_the_new_process_waits_to_register() -> None:
    clock = Clock()
    status = PipelineStatus([("proc", "processor")], clock=clock)
    status.apply(ComponentStarted("proc", 10))
    status.apply(ServiceRegistered("proc", "SERVICE_TYPE_PROCESSOR", "proc", "by id"))
    status.apply(ComponentExited("proc", 3, "exited with status 3", expected=False))
    status.apply(ComponentRestarting("proc", 2, 5, 4.0, "exited with status 3"))
    proc = status.components["proc"]
    assert proc.state == "restarting (2/5) in 4s"
    assert proc.tone == "warn"
    clock.now += 3.5
    assert proc.state == "restarting (2/5) in 0.5s"
    status.apply(ComponentStarted("proc", 11))
    assert proc.state == "waiting to register"
    status.apply(ServiceRegistered("proc", "SERVICE_TYPE_PROCESSOR", "proc", "by id"))
    assert proc.state == "healthy"
    assert status.summary() == "1/1 healthy"


def test_a_completed_job_is_no_failure_on_screen() -> None:
    status = PipelineStatus([("migrate", "source"), ("proc", "processor")])
    exited = ComponentExited("migrate", 0, "exited normally", expected=False)
    status.apply(ComponentStarted("migrate", 10))
    status.apply(exited)
    status.apply(ComponentCompleted("migrate"))
    assert status.components["migrate"].state == "completed"
    assert status.components["migrate"].tone == "ok"
    assert status.headline() == "0/2 healthy, 1 completed"
    assert describe_event(exited, jobs={"migrate"}) is None  # no "unexpectedly" line
    line = describe_event(ComponentCompleted("migrate"))
    assert line is not None and (line.level, line.text) == ("INFO", "migrate completed")
    restart = describe_event(ComponentRestarting("proc", 1, 3, 0.05, "exited with status 3"))
    assert restart is not None
    assert (restart.level, restart.text) == ("WARNING", "proc: restarting (1/3) in 50ms")


def test_run_components_shows_the_restart_and_the_completion() -> None:
    board = ComponentBoard([("proc", "processor"), ("migrate", "source")])
    board.apply(ComponentStarted("proc", 10))
    board.apply(ServiceRegistered("proc", "SERVICE_TYPE_PROCESSOR", "proc", "by id"))
    board.apply(ComponentExited("proc", 3, "exited with status 3", expected=False))
    board.apply(ComponentRestarting("proc", 1, 5, 1.0, "exited with status 3"))
    view = board.views["proc"]
    assert view.state is ComponentState.RESTARTING
    assert view.restart == RestartWait(1, 5, 1.0, "exited with status 3")
    assert view.registration is None and view.restarts == 1
    board.apply(ComponentStarted("proc", 11))
    assert board.views["proc"].state is ComponentState.WAITING_TO_REGISTER
    board.apply(ServiceRegistered("proc", "SERVICE_TYPE_PROCESSOR", "proc", "by id"))
    assert board.views["proc"].state is ComponentState.HEALTHY
    board.apply(ComponentStarted("migrate", 12))
    board.apply(ComponentExited("migrate", 0, "exited normally", expected=False))
    board.apply(ComponentCompleted("migrate"))
    assert board.views["migrate"].state is ComponentState.COMPLETED


# A job that registered, then exited 0: what the live view and the run's board both see.
A_JOB_REGISTERED_AND_COMPLETED = (
    ComponentStarted("migrate", 10),
    ServiceRegistered("migrate", "SERVICE_TYPE_SOURCE", "migrate", "by id"),
    ComponentExited("migrate", 0, "exited normally", expected=False),
    ComponentCompleted("migrate"),
)


def test_a_completed_jobs_silence_is_no_warning() -> None:
    status = PipelineStatus([("migrate", "source")])
    for event in A_JOB_REGISTERED_AND_COMPLETED:
        status.apply(event)
    silent = HealthChanged("migrate", "migrate", healthy=False, silent_for=31.0)
    status.apply(silent)
    assert status.components["migrate"].state == "completed"
    assert status.summary() == "0/1 healthy, 1 completed"
    line = describe_event(silent, jobs={"migrate"}, completed=status.completed())
    assert line is not None and (line.level, line.text) == (
        "DEBUG",
        "migrate is silent: migrate completed",
    )
    # A registration that goes silent while its component runs is still a warning.
    warning = describe_event(silent, jobs={"migrate"})
    assert warning is not None and warning.level == "WARNING"


def test_the_run_state_board_keeps_a_completed_job_completed() -> None:
    board = ComponentBoard([("migrate", "source")])
    for event in A_JOB_REGISTERED_AND_COMPLETED:
        board.apply(event)
    board.apply(HealthChanged("migrate", "migrate", healthy=False, silent_for=31.0))
    assert board.views["migrate"].state is ComponentState.COMPLETED
    assert all_healthy(board.views, ["migrate"])
