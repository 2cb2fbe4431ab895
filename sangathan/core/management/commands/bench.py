"""``sangathan bench NAME [--json]``: benchmarks, each on a fresh scratch database.

The command re-executes itself in a child process whose ``DATABASE_URL`` names a temporary
database (see ``sangathan.core.bench``), so the user's database is never touched.
"""

import json
import sys

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from sangathan.core import bench


class Command(BaseCommand):
    help = (
        "Run a benchmark on a fresh scratch database and print one JSON object: "
        "'seed' (people seeding vs plain executemany), 'subtree' (people under any unit) or "
        "'search' (the person search page's query, nationally and in one district)."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", choices=["seed", "subtree", "search"])
        parser.add_argument("--json", action="store_true", help="print only the JSON object")
        parser.add_argument("--people", type=int, default=None)
        parser.add_argument("--booths", type=int, default=None)
        parser.add_argument("--runs", type=int, default=3, help="seed: runs (median taken)")
        parser.add_argument(
            "--samples",
            type=int,
            default=None,
            help="subtree: reads per level; search: runs per case",
        )
        parser.add_argument(
            "--with-recount",
            action="store_true",
            help="subtree: also time counts.recount() over the whole tree",
        )
        parser.add_argument("--seed", type=int, default=42)

    def handle(self, *args, **o):
        if not bench.is_scratch_run():
            argv = ["bench", *sys_argv_for(o)]
            try:
                done = bench.run_in_scratch(argv)
            except RuntimeError as e:
                raise CommandError(str(e)) from e
            if done.returncode != 0:
                raise CommandError(f"The benchmark failed (exit status {done.returncode}).")
            self.stdout.write(done.stdout, ending="")
            return
        call_command("migrate", verbosity=0, interactive=False)
        progress = not o["json"] and sys.stderr.isatty()
        if o["name"] == "seed":
            result = bench.bench_seed(
                people=o["people"] or 200_000,
                runs=o["runs"],
                booths=o["booths"] or 1000,
                seed=o["seed"],
            )
        elif o["name"] == "search":
            result = bench.bench_search(
                booths=o["booths"] or 20_000,
                people=o["people"] if o["people"] is not None else 200_000,
                samples=o["samples"] if o["samples"] is not None else 30,
                seed=o["seed"],
                progress=progress,
            )
        else:
            result = bench.bench_subtree(
                booths=o["booths"] or 20_000,
                people=o["people"] if o["people"] is not None else 300_000,
                samples=o["samples"] if o["samples"] is not None else 200,
                seed=o["seed"],
                with_recount=o["with_recount"],
                progress=progress,
            )
        self.stdout.write(json.dumps(result, ensure_ascii=False))


def sys_argv_for(o: dict) -> list[str]:
    """The options again, as command-line arguments for the child process."""
    argv = [o["name"], "--runs", str(o["runs"]), "--seed", str(o["seed"])]
    for flag in ("people", "booths", "samples"):
        if o[flag] is not None:
            argv += [f"--{flag}", str(o[flag])]
    if o["json"]:
        argv.append("--json")
    if o["with_recount"]:
        argv.append("--with-recount")
    return argv
