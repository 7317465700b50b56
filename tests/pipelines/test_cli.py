"""The clearcount command: help, scan exit codes and lines, refresh success and failure."""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from pipelines import cli

SENTINEL = "9Q7Z"


@pytest.fixture
def ingest_only_definitions(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``refresh`` run a weekly_refresh made of the ingest domain only.

    The other domains (models, marts, dashboards) have their own tests; here we test the
    command's mechanics: settings, lock, exit codes and messages.
    """
    from pipelines.defs.automation import weekly_refresh
    from pipelines.defs.ingest.assets import defs as ingest_defs
    from pipelines.resources import settings_resource, warehouse_resource

    module = types.ModuleType("pipelines.definitions")
    module.defs = dg.Definitions.merge(  # type: ignore[attr-defined]
        ingest_defs,
        dg.Definitions(
            jobs=[weekly_refresh],
            resources={"duckdb": warehouse_resource(), "settings": settings_resource()},
        ),
    )
    monkeypatch.setitem(sys.modules, "pipelines.definitions", module)


def test_help_explains_commands_and_settings(capsys):
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    for word in ("scan", "refresh", "design-test", "simulate"):
        assert word in out
    for setting in (
        "CLEARCOUNT_LANDING_DIR",
        "CLEARCOUNT_WAREHOUSE",
        "CLEARCOUNT_OUTPUT_DIR",
        "CLEARCOUNT_MIN_CELL",
    ):
        assert setting in out
    for command in ("scan", "refresh", "design-test"):
        assert cli.main([command, "--help"]) == 0
        assert "CLEARCOUNT_WAREHOUSE" in capsys.readouterr().out


def test_no_command_and_unknown_option_are_usage_errors(capsys):
    assert cli.main([]) == 2
    assert cli.main(["scan"]) == 2
    assert cli.main(["refresh", "--bogus"]) == 2


def test_scan_landing_dir_all_accepted(clearcount_env, small_landing, capsys):
    assert cli.main(["scan", str(small_landing)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 7
    assert all("\taccepted\t" in line for line in lines)


def test_scan_rejected_file_exit_1_names_rule_not_values(clearcount_env, small_landing, capsys):
    bad = small_landing / "spend" / "spend_9.csv"
    bad.write_text(
        f"week_start,geo,channel,spend\n2024-01-08,CA,tv,-1.00\n2024-01-08,{SENTINEL},tv,3.00\n"
    )
    assert cli.main(["scan", str(small_landing / "spend")]) == 1
    out = capsys.readouterr().out
    (line,) = [ln for ln in out.splitlines() if "spend_9.csv" in ln]
    assert "\trejected\t" in line
    assert "negative_value(spend)=1" in line and "unknown_geo(geo)=1" in line
    assert SENTINEL not in out and "-1.00" not in out


def test_scan_single_file_with_feed_option(clearcount_env, small_landing, tmp_path, capsys):
    loose = tmp_path / "drop.csv"
    loose.write_text("week_start,geo,channel,calls,new_patient_calls\n2024-01-08,CA,tv,5,9\n")
    assert cli.main(["scan", str(loose)]) == 2  # folder name is not a feed
    assert "--feed" in capsys.readouterr().err
    assert cli.main(["scan", "--feed", "calls", str(loose)]) == 1
    assert "count_exceeds_total" in capsys.readouterr().out


def test_scan_missing_path_is_usage_error(clearcount_env, tmp_path, capsys):
    assert cli.main(["scan", str(tmp_path / "nope")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_refresh_success_prints_dashboards_path(
    clearcount_env, ingest_only_definitions, warehouse_path, capsys
):
    assert cli.main(["refresh"]) == 0
    out = capsys.readouterr().out
    assert str(Path(clearcount_env["CLEARCOUNT_OUTPUT_DIR"]) / "dashboards" / "index.html") in out
    conn = duckdb.connect(str(warehouse_path), read_only=True)
    try:
        assert conn.execute("SELECT count(*) FROM staging.spend").fetchall() == [(48,)]
        assert conn.execute("SELECT count(*) FROM core.weekly_panel").fetchall() == [(24,)]
    finally:
        conn.close()


def test_refresh_records_its_run_in_the_ui_instance(
    clearcount_env, ingest_only_definitions, capsys
):
    """The run, its materialisations and check results land in $DAGSTER_HOME (`make ui`)."""
    assert cli.main(["refresh"]) == 0
    home = Path(clearcount_env["DAGSTER_HOME"])
    assert str(home) in capsys.readouterr().out
    assert (home / "dagster.yaml").is_file(), "a new instance gets the checkout's dagster.yaml"
    with dg.DagsterInstance.from_config(str(home)) as instance:
        runs = instance.get_runs()
        assert [r.job_name for r in runs] == ["weekly_refresh"]
        assert runs[0].status == dg.DagsterRunStatus.SUCCESS
        assert runs[0].tags.get("clearcount/started_by") == "clearcount refresh"
        event = instance.get_latest_materialization_event(dg.AssetKey("weekly_panel"))
        assert event is not None and event.run_id == runs[0].run_id
        checks = instance.all_logs(
            runs[0].run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
        )
        assert checks, "the UI shows the run's check results"


@pytest.mark.timeout(600)
def test_a_refresh_killed_mid_run_does_not_block_the_next(
    clearcount_env, ingest_only_definitions, capsys
):
    """A refresh process killed mid-run leaves its run STARTED and its warehouse slot claimed;
    the next refresh ends that run and frees the slot instead of waiting for it forever."""
    from pipelines.definitions import defs

    assert cli.main(["refresh"]) == 0
    home = Path(clearcount_env["DAGSTER_HOME"])
    with dg.DagsterInstance.from_config(str(home)) as instance:
        killed = instance.create_run_for_job(
            job_def=defs.resolve_job_def("weekly_refresh"), tags=cli.STARTED_BY
        )
        instance.handle_run_event(
            killed.run_id,
            dg.DagsterEvent(
                event_type_value=dg.DagsterEventType.RUN_START.value, job_name="weekly_refresh"
            ),
        )
        claim = instance.event_log_storage.claim_concurrency_slot(
            "warehouse", killed.run_id, "spend"
        )
        assert claim.is_claimed, "the killed run holds the warehouse pool's only slot"
        assert instance.get_run_by_id(killed.run_id).status == dg.DagsterRunStatus.STARTED
    assert cli.main(["refresh"]) == 0
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert instance.get_run_by_id(killed.run_id).status == dg.DagsterRunStatus.FAILURE
        statuses = [r.status for r in instance.get_runs() if r.run_id != killed.run_id]
        assert statuses == [dg.DagsterRunStatus.SUCCESS] * 2


def test_refresh_failure_is_one_value_free_paragraph(
    clearcount_env, ingest_only_definitions, small_landing, warehouse_path, capsys
):
    assert cli.main(["refresh"]) == 0
    capsys.readouterr()
    bad = small_landing / "calls" / "calls_late.csv"
    bad.write_text(
        "week_start,geo,channel,calls,new_patient_calls\n"
        f"2024-01-08,CA,{SENTINEL.lower()}x,5,4\n2024-01-09,CA,organic,5,4\n"
    )
    assert cli.main(["refresh"]) == 1
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert "\n" not in err, "one paragraph"
    assert "calls_late.csv" in err and "not_monday(week_start)=1" in err
    assert "What to do: not_monday: use the Monday that starts each week" in err
    assert "sha256" in err
    assert SENTINEL.lower() not in (captured.out + captured.err)
    # the pages are re-rendered so that they show the rejected file, and still carry no value
    index = Path(clearcount_env["CLEARCOUNT_OUTPUT_DIR"]) / "dashboards" / "index.html"
    assert f"Dashboards updated to show the failure: {index}" in captured.out
    privacy = (index.parent / "data_privacy.html").read_text()
    assert "calls_late.csv" in privacy and SENTINEL.lower() not in privacy
    conn = duckdb.connect(str(warehouse_path), read_only=True)
    try:
        assert conn.execute("SELECT count(*) FROM staging.calls").fetchall() == [(48,)]
    finally:
        conn.close()


def test_refresh_missing_feed_folder_names_it(
    clearcount_env, ingest_only_definitions, small_landing, capsys
):
    import shutil

    shutil.rmtree(small_landing / "bookings")
    assert cli.main(["refresh"]) == 1
    err = capsys.readouterr().err
    assert "feed 'bookings' is missing" in err


def test_console_script_is_installed():
    exe = Path(sys.executable).with_name("clearcount")
    done = subprocess.run([str(exe), "--help"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0
    assert "refresh" in done.stdout


def test_another_simulated_seed_loads_without_code_changes(
    ingest_only_definitions, monkeypatch, tmp_path, capsys
):
    landing = tmp_path / "seed7"
    assert (
        cli.main(["simulate", "--seed", "7", "--out", str(landing), "--geos", "8", "--weeks", "90"])
        == 0
    )
    warehouse = tmp_path / "seed7.duckdb"
    monkeypatch.setenv("CLEARCOUNT_LANDING_DIR", str(landing))
    monkeypatch.setenv("CLEARCOUNT_WAREHOUSE", str(warehouse))
    monkeypatch.setenv("CLEARCOUNT_OUTPUT_DIR", str(tmp_path / "out"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    assert cli.main(["scan", str(landing)]) == 0
    assert cli.main(["refresh"]) == 0
    conn = duckdb.connect(str(warehouse), read_only=True)
    try:
        assert conn.execute(
            "SELECT count(DISTINCT geo), count(DISTINCT week_start) FROM core.weekly_panel"
        ).fetchall() == [(8, 90)]
    finally:
        conn.close()


def test_simulate_bad_size_is_explained(tmp_path, capsys):
    assert cli.main(["simulate", "--seed", "1", "--out", str(tmp_path / "x"), "--weeks", "3"]) == 1
    assert "weeks" in capsys.readouterr().err


def test_simulate_without_the_simulator_says_it_needs_a_checkout(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "simulator", None)  # as installed from the wheel
    assert cli.main(["simulate", "--seed", "1", "--out", str(tmp_path / "x")]) == 2
    assert "checkout" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_design_test_dispatches_to_geo_command(monkeypatch):
    import pipelines.commands.design_test as design_test

    seen = {}

    def fake_run(args):
        seen.update(channel=args.channel, weeks=args.weeks, treated=args.treated)
        return 0

    monkeypatch.setattr(design_test, "run", fake_run)
    assert cli.main(["design-test", "--channel", "tv", "--weeks", "6", "--treated", "3"]) == 0
    assert seen == {"channel": "tv", "weeks": 6, "treated": 3}
    assert cli.main(["design-test", "--channel", "tv", "--weeks", "six"]) == 2
