"""autocheck_once: the check auto takes its runtime from runs once per model and machine,
whatever the number of processes asking; a failed or interrupted one leaves auto on its safe
default and is not run again by itself."""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from pathlib import Path
from typing import Any

import pytest

from mlpipeline.encoder_check import (
    AUTO_CHECK_LOCK,
    AutoCheckDeferred,
    RuntimeMeasure,
    autocheck_once,
    check_entry_build,
)
from mlpipeline.encoder_config import (
    EncoderConfig,
    base_model_id,
    check_choice,
    check_entry,
    check_file,
    machine_signature,
    runtime_planned,
)
from mlpipeline.runtimes import export_dir


def tiny_config(cache: Path) -> EncoderConfig:
    return EncoderConfig(
        model_name="vidsort-tiny",
        pretrained="",
        device="auto",
        cache_dir=str(cache),
        runtime="auto",
    )


def passing_entry(config: EncoderConfig) -> dict[str, Any]:
    measures = [
        RuntimeMeasure("torch", "torch cpu fp32", 10.0, 1.0, 1.0, 1.0),
        RuntimeMeasure("onnx", "onnxruntime cpu fp32", 11.0, 1.1, 1.0, 1.0),
        RuntimeMeasure("onnx-int8", "onnxruntime cpu int8", 20.0, 2.0, 0.9995, 0.9998),
    ]
    return check_entry_build(config=config, measures=measures, videos=8, frames=64, classifier=None)


def _racer(cache: str, runs_log: str, results: str) -> None:
    config = tiny_config(Path(cache))

    def measure() -> dict[str, Any]:
        with open(runs_log, "a") as handle:
            handle.write(f"{os.getpid()}\n")
        time.sleep(1.0)  # long enough for the other process to be waiting on the lock
        return passing_entry(config)

    outcome = autocheck_once(config, measure)
    with open(results, "a") as handle:
        handle.write(json.dumps({"ran": outcome.ran, "runtime": outcome.runtime}) + "\n")


def test_two_processes_run_the_check_once_and_both_take_its_choice(tmp_path: Path) -> None:
    runs_log, results = tmp_path / "runs.log", tmp_path / "results.jsonl"
    context = multiprocessing.get_context("spawn")
    racers = [
        context.Process(target=_racer, args=(str(tmp_path), str(runs_log), str(results)))
        for _ in range(2)
    ]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join(timeout=120)
        assert racer.exitcode == 0

    assert len(runs_log.read_text().split()) == 1  # one process measured
    outcomes = [json.loads(line) for line in results.read_text().splitlines()]
    assert sorted(o["ran"] for o in outcomes) == [False, True]
    assert {o["runtime"] for o in outcomes} == {"onnx-int8"}
    config = tiny_config(tmp_path)
    assert check_entry(config)["source"] == "auto"  # type: ignore[index]
    assert runtime_planned(config) == "onnx-int8"
    # Stored: a later process does not measure again.
    again = autocheck_once(config, lambda: pytest.fail("measured twice"))
    assert (again.ran, again.runtime) == (False, "onnx-int8")


def test_a_failing_check_is_stored_as_failed_and_auto_keeps_the_safe_runtime(
    tmp_path: Path,
) -> None:
    config = tiny_config(tmp_path)

    def broken() -> dict[str, Any]:
        raise RuntimeError("int8 kernels crashed\non this CPU")

    outcome = autocheck_once(config, broken)

    assert outcome.ran and outcome.runtime is None
    assert outcome.error == "int8 kernels crashed on this CPU"
    stored = json.loads(check_file(config).read_text())[base_model_id(config)]
    assert stored["error"] == outcome.error and stored["auto"] is None
    assert check_choice(config) is None and runtime_planned(config) == "onnx"
    assert autocheck_once(config, lambda: pytest.fail("retried by itself")).ran is False


def test_a_check_whose_process_died_is_not_run_again(tmp_path: Path) -> None:
    config = tiny_config(tmp_path)
    lock = export_dir(config) / AUTO_CHECK_LOCK
    lock.parent.mkdir(parents=True)
    # What a process holding the lock leaves behind when it is killed during the check.
    lock.write_text(f"{base_model_id(config)}|{machine_signature()}|{config.device}")

    outcome = autocheck_once(config, lambda: pytest.fail("the check that kills is run again"))

    assert outcome.ran and outcome.runtime is None
    assert "did not finish" in (outcome.error or "")
    assert runtime_planned(config) == "onnx"
    assert lock.read_text() == ""


def test_nothing_to_measure_yet_stores_nothing(tmp_path: Path) -> None:
    config = tiny_config(tmp_path)

    def empty_library() -> dict[str, Any]:
        raise AutoCheckDeferred("none of 8 sampled videos could be decoded")

    outcome = autocheck_once(config, empty_library)

    assert (outcome.ran, outcome.runtime) == (False, None)
    assert "could be decoded" in (outcome.error or "")
    assert check_entry(config) is None  # the next retrain tries again
    assert autocheck_once(config, lambda: passing_entry(config)).runtime == "onnx-int8"
