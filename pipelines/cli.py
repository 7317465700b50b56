"""The ``clearcount`` command: scan landing files, run the weekly refresh, design a geo test,
simulate a world.

Exit codes: 0 success, 1 failure (a rejected file, a failed refresh), 2 bad usage.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from pipelines.feeds import FEED_ORDER, FEEDS
from pipelines.settings import Settings

SETTINGS_HELP = """\
settings (environment variables; relative paths are taken from the working directory):
  CLEARCOUNT_LANDING_DIR  where feeds arrive, one folder per feed      (default: data/sample)
  CLEARCOUNT_WAREHOUSE    the DuckDB file of the warehouse      (default: data/warehouse.duckdb)
  CLEARCOUNT_OUTPUT_DIR   dashboards, model artifacts, scan reports    (default: output)
  CLEARCOUNT_MIN_CELL     published counts from 1 to this minus one are suppressed (default: 11)
  CLEARCOUNT_TIMEZONE     timezone of the Monday 06:00 schedule (default: America/New_York)
  CLEARCOUNT_WINDOW_WEEKS reporting window of PAC and the budget plan, last N weeks (default: 52)
  CLEARCOUNT_PARTITIONS   brands or regions of the partitioned path, e.g. north,south (default:
                          none; see docs/deploy.md)
"""


class UsageError(Exception):
    """Bad command-line usage (exit code 2)."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="clearcount",
        description=(
            "Patient acquisition cost per marketing channel from aggregate feeds only: "
            "privacy guard, warehouse, media mix model, geo tests, dashboards."
        ),
        epilog=SETTINGS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    scan = sub.add_parser(
        "scan",
        help="scan landing files with the privacy guard (loads nothing)",
        description=(
            "Scan files, feed folders or a whole landing dir with the privacy guard and print "
            "one line per file: file, verdict, rules. Nothing is loaded. A file's feed is its "
            "folder's name unless --feed is given; geos are checked against the markets feed "
            "of CLEARCOUNT_LANDING_DIR. Exit 0 when all files are accepted, 1 when any is "
            "rejected, 2 on bad usage."
        ),
        epilog=SETTINGS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    scan.add_argument("paths", nargs="+", metavar="PATH", help="file, feed folder or landing dir")
    scan.add_argument("--feed", choices=FEED_ORDER, help="feed of every given file")

    refresh = sub.add_parser(
        "refresh",
        help="run the weekly refresh (same job as the Monday schedule) in-process",
        description=(
            "Run the weekly_refresh job in this process: scan and load the landing feeds, "
            "rebuild the weekly panel, fit the models, write the marts and dashboards. Prints "
            "where the dashboards are; on failure prints what failed and exits non-zero. A "
            "second refresh of the same warehouse waits for the first to finish. The run is "
            "recorded in the Dagster instance at $DAGSTER_HOME (default ./.dagster_home, the "
            "one `make ui` opens), so the UI shows it like a run started there."
        ),
        epilog=SETTINGS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )

    refresh.add_argument(
        "--verbose", action="store_true", help="show Dagster's step logs (INFO) while running"
    )

    design = sub.add_parser(
        "design-test",
        help="propose treatment and control markets for a geo test of a channel",
        description=(
            "Propose treatment and control markets for a geo test of CHANNEL lasting WEEKS "
            "weeks, from the weekly panel in the warehouse, and print its minimum detectable "
            "effect. With --next (no --channel or --weeks): print which geo test to run next, "
            "every paid channel's test ranked by how much it would narrow the channel's PAC "
            "interval times its spend (marts.next_experiments of the last refresh)."
        ),
        epilog=SETTINGS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    design.add_argument("--channel", help="paid channel (any case)")
    design.add_argument("--weeks", type=int, help="test length in weeks")
    design.add_argument("--treated", type=int, default=None, help="number of treatment markets")
    design.add_argument(
        "--next",
        action="store_true",
        help="print the geo tests ranked by what they would teach (from the last refresh)",
    )

    simulate = sub.add_parser(
        "simulate",
        help="write a simulated landing dir with known truth (truth.json)",
        description=(
            "Generate a simulated health system's landing feeds and its truth.json for a seed."
        ),
    )
    simulate.add_argument("--seed", required=True, type=int, help="random seed")
    simulate.add_argument("--out", required=True, type=Path, help="landing dir to write")
    simulate.add_argument("--geos", type=int, default=None, help="number of markets (default 24)")
    simulate.add_argument("--weeks", type=int, default=None, help="number of weeks (default 156)")
    simulate.add_argument(
        "--hard", action="store_true", help="correlated flighting, weaker effects"
    )
    return parser


def _scan_targets(paths: Sequence[str], feed: str | None) -> list[tuple[Path, str]]:
    """Expand PATH arguments into (file, feed) pairs in a stable order."""
    from pipelines.commands.rejections import ONLY_CSV_PARQUET, SPREADSHEET_SUFFIXES
    from pipelines.ingest import LANDING_SUFFIXES, list_feed_files

    targets: list[tuple[Path, str]] = []
    for raw in paths:
        path = Path(raw)
        if path.is_file() and path.suffix.lower() in SPREADSHEET_SUFFIXES:
            raise UsageError(f"a {path.suffix.lower()} file is a spreadsheet: {ONLY_CSV_PARQUET}")
        if path.is_file():
            name = feed or path.parent.name
            if name not in FEEDS:
                raise UsageError(
                    f"cannot tell the feed of {path}: its folder is not a feed name "
                    f"({', '.join(FEED_ORDER)}); pass --feed"
                )
            targets.append((path, name))
        elif path.is_dir():
            if feed is not None or path.name in FEEDS:
                name = feed or path.name
                targets.extend(
                    (p, name)
                    for p in sorted(path.iterdir(), key=lambda p: p.name)
                    if p.is_file()
                    and not p.name.startswith(".")
                    and p.suffix.lower() in LANDING_SUFFIXES
                )
            else:
                found = [f for f in FEED_ORDER if (path / f).is_dir()]
                if not found:
                    raise UsageError(f"{path} holds no feed folder ({', '.join(FEED_ORDER)})")
                for name in found:
                    targets.extend((p, name) for p in list_feed_files(path, name))
        else:
            raise UsageError(f"no such file or folder: {path}")
    return targets


def cmd_scan(args: argparse.Namespace) -> int:
    """Scan and print ``file  verdict  rules``; 0 all accepted, 1 any rejected."""
    from pipelines.guard.file_names import escape_text
    from pipelines.ingest import landing_geos, scan_paths
    from pipelines.settings import Settings

    targets = _scan_targets(args.paths, args.feed)
    if not targets:
        raise UsageError("no .csv or .parquet file found in the given paths")
    geos = landing_geos(Settings.from_env().landing_dir)
    rejected = 0
    for path, feed in targets:
        (result,) = scan_paths([path], feed, None if feed == "markets" else geos)
        rules = result.rules_text()
        # the file's name as the guard allows it to be shown (escaped or withheld), in its folder
        shown = f"{escape_text(str(path.parent), limit=4096)}/{result.file_name}"
        print(f"{shown}\t{result.verdict}\t{rules or '-'}")
        rejected += not result.accepted
    return 1 if rejected else 0


SAFE_ERRORS = frozenset(
    {
        "Failure",
        "IngestError",
        "MissingFeedError",
        "PanelError",
        "WarehouseError",
        "GuardError",
        "DagsterAssetCheckFailedError",
        "IOException",  # DuckDB file and lock errors: paths and process ids, no rows
    }
)
"""Error classes whose messages are written by clearcount itself and carry no file values."""


def _error_text(error: object) -> str:
    """The innermost error's message if it is one of ours, else only its class name."""
    while getattr(error, "cause", None) is not None and getattr(error, "cls_name", "") in {
        "DagsterExecutionStepExecutionError",
        "DagsterUserCodeExecutionError",
    }:
        error = error.cause  # type: ignore[attr-defined]
    cls_name = getattr(error, "cls_name", None) or "error"
    message = (getattr(error, "message", "") or "").strip()
    if cls_name in SAFE_ERRORS and message:
        first = message.splitlines()[0]
        prefix = f"{cls_name}: "
        text = first.split(prefix, 1)[1] if prefix in first else first
        return text.rstrip(".")
    return (
        f"{cls_name} (details withheld because they may quote data; see "
        "`clearcount refresh --verbose` or the run in the Dagster UI)"
    )


def _failure_paragraph(result: object) -> str:
    """One value-free paragraph naming the failed steps, failed checks and why."""
    import dagster as dg

    parts: list[str] = []
    for event in result.all_events:  # type: ignore[attr-defined]
        if event.event_type == dg.DagsterEventType.STEP_FAILURE:
            error = event.step_failure_data.error if event.step_failure_data else None
            if error is not None and error.cls_name == "DagsterAssetCheckFailedError":
                continue  # reported through the check's own description
            parts.append(f"Step '{event.step_key}' failed: {_error_text(error)}.")
        elif (
            event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION
            and not event.event_specific_data.passed
        ):
            evaluation = event.event_specific_data
            parts.append(
                f"Check '{evaluation.check_name}' of '{evaluation.asset_key.to_user_string()}'"
                f" failed: {(evaluation.description or 'no description').rstrip('.')}."
            )
    text = " ".join(parts) if parts else "The run did not succeed."
    from pipelines.commands.rejections import fixes

    todo = fixes(text)
    how = f" What to do: {'; '.join(todo)}." if todo else ""
    return (
        f"clearcount refresh failed. {text}{how} Steps downstream of a failure did not run. The "
        "warehouse keeps the data of the last successful load of each feed; fix or remove the "
        "named files and run the refresh again."
    )


DEFAULT_DAGSTER_HOME = ".dagster_home"
"""The Dagster instance folder ``make ui`` and ``make run`` use, relative to the checkout."""


def dagster_home() -> Path:
    """The Dagster instance folder a refresh records its run in, created when missing.

    ``$DAGSTER_HOME`` when set (the Makefile sets it to ``<checkout>/.dagster_home``), else
    ``.dagster_home`` in the working directory. A new folder gets the checkout's
    ``dagster.yaml`` (telemetry off, one warehouse writer at a time), as ``make ui`` does, so
    the UI shows the runs, materialisations, check results and metadata of every refresh
    however it was started.
    """
    home = Path(os.environ.get("DAGSTER_HOME") or DEFAULT_DAGSTER_HOME).resolve()
    home.mkdir(parents=True, exist_ok=True)
    config = Path(__file__).resolve().parents[1] / "dagster.yaml"
    if not (home / "dagster.yaml").exists() and config.is_file():
        shutil.copyfile(config, home / "dagster.yaml")
    return home


STARTED_BY = {"clearcount/started_by": "clearcount refresh"}
"""Tag of the runs ``clearcount refresh`` records."""


def end_stale_refreshes(instance) -> int:
    """Mark earlier ``clearcount refresh`` runs still recorded as in progress as failed, and free
    the warehouse slots they hold; returns how many.

    Called while this process holds the warehouse's refresh lock, which every ``clearcount
    refresh`` takes, so such a run cannot be running: its process was killed mid-run. Left as
    is, the slot it claimed in the ``warehouse`` pool would make every later run wait forever.
    Runs started from the UI or the schedule are not touched.
    """
    import dagster as dg

    stale = instance.get_runs(
        filters=dg.RunsFilter(
            statuses=[dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.STARTING],
            tags=STARTED_BY,
        )
    )
    for run in stale:
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        instance.report_run_failed(
            run, "Its clearcount refresh process ended before the run finished."
        )
    return len(stale)


def execute_refresh(run_config: dict | None = None, verbose: bool = False):
    """Run ``weekly_refresh`` in this process, recorded in the instance of :func:`dagster_home`.

    Takes the warehouse's refresh lock (a second refresh waits). ``run_config`` is merged into
    the job's run config (e.g. ``{"ops": {"mmm_fit": {"config": {"draws": 500}}}}``).
    Returns Dagster's ``ExecuteInProcessResult``.
    """
    import dagster as dg

    from pipelines.resources import warehouse_resource
    from pipelines.warehouse import refresh_lock

    settings = Settings.from_env()
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)

    def waiting() -> None:
        print(
            f"another refresh of {settings.warehouse} is running; waiting for it to finish",
            file=sys.stderr,
            flush=True,
        )

    level = "INFO" if verbose else "CRITICAL"
    config = {"loggers": {"console": {"config": {"log_level": level}}}, **(run_config or {})}
    with refresh_lock(settings.warehouse, on_wait=waiting):
        from pipelines.definitions import defs

        job = defs.resolve_job_def("weekly_refresh")
        home = dagster_home()
        print(
            f"Running weekly_refresh: landing {settings.landing_dir}, "
            f"warehouse {settings.warehouse}; the run is recorded in {home} "
            "(`make ui` shows it)",
            flush=True,
        )
        with dg.DagsterInstance.from_config(str(home)) as instance:
            end_stale_refreshes(instance)
            return job.execute_in_process(
                raise_on_error=False,
                instance=instance,
                resources={"duckdb": warehouse_resource()},
                run_config=config,
                tags=STARTED_BY,
            )


def cmd_refresh(args: argparse.Namespace) -> int:
    """Run ``weekly_refresh`` in-process; print the dashboards' path or a failure paragraph."""
    from pipelines.commands.rejections import ONLY_CSV_PARQUET, spreadsheets

    settings = Settings.from_env()
    sheets = spreadsheets(settings.landing_dir, list(FEED_ORDER))
    for feed in dict.fromkeys(p.parent.name for p in sheets):
        n = sum(p.parent.name == feed for p in sheets)
        print(
            f"note: {n} spreadsheet file(s) in {feed}/ not read: {ONLY_CSV_PARQUET}",
            file=sys.stderr,
        )
    result = execute_refresh(verbose=args.verbose)
    if not result.success:
        print(_failure_paragraph(result), file=sys.stderr)
        _show_failure_on_dashboards(settings)
        return 1
    index = settings.output_dir / "dashboards" / "index.html"
    if index.is_file():
        print(f"Refresh done. Dashboards: {index}")
    else:
        print(f"Refresh done. Dashboards will be at {index} (no dashboard asset wrote it yet).")
    return 0


def _show_failure_on_dashboards(settings: Settings) -> None:
    """Re-render the pages from the warehouse so they show the failed gate or rejected files.

    The marts keep their last good state; only the status shown on the pages changes.
    """
    from pipelines.dashboards import rebuild_from_warehouse

    if not settings.warehouse.is_file():
        return
    try:
        index = rebuild_from_warehouse(settings)["index.html"]
    except Exception as exc:  # the refresh already failed: say so and move on
        print(f"The dashboards were not updated ({type(exc).__name__}).")
        return
    print(f"Dashboards updated to show the failure: {index}")


def cmd_design_test(args: argparse.Namespace) -> int:
    from pipelines.commands.design_test import run

    return int(run(args))


def cmd_simulate(args: argparse.Namespace) -> int:
    # The simulator is a test and benchmark tool kept out of the installed packages: it is
    # importable from a checkout of the repository (an editable install puts its root on the path).
    try:
        from simulator import WorldConfig, simulate_world, write_world
    except ImportError:
        raise UsageError(
            "the simulator is not installed: run clearcount simulate from a checkout of the "
            "clearcount repository (make install)"
        ) from None

    defaults = WorldConfig()
    hard = {"correlated_flighting": True, "effect_scale": 0.6} if args.hard else {}
    config = WorldConfig(
        seed=args.seed,
        n_geos=defaults.n_geos if args.geos is None else args.geos,
        n_weeks=defaults.n_weeks if args.weeks is None else args.weeks,
        **hard,
    )
    write_world(simulate_world(config), Path(args.out))
    print(f"wrote a simulated world (seed {args.seed}) to {args.out}")
    return 0


COMMANDS = {
    "scan": cmd_scan,
    "refresh": cmd_refresh,
    "design-test": cmd_design_test,
    "simulate": cmd_simulate,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``clearcount`` console script; returns the exit code."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on bad usage, 0 on --help
        return int(exc.code or 0)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return COMMANDS[args.command](args)
    except UsageError as exc:
        print(f"clearcount {args.command}: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        # Library messages may quote file contents; only our own errors are printed in full.
        from pipelines.guard import GuardError
        from pipelines.ingest import IngestError
        from pipelines.panel import PanelError
        from pipelines.warehouse import WarehouseError

        code_error = type(exc).__module__.startswith("dagster") or isinstance(
            exc, ImportError | SyntaxError
        )
        reads_no_files = args.command == "simulate"
        ours = isinstance(exc, IngestError | WarehouseError | GuardError | PanelError)
        if ours or code_error or reads_no_files:
            print(f"clearcount {args.command}: {exc}", file=sys.stderr)
        else:
            print(
                f"clearcount {args.command} failed ({type(exc).__name__}); "
                "details were withheld because they may quote file contents",
                file=sys.stderr,
            )
        return 1


if __name__ == "__main__":
    sys.exit(main())
