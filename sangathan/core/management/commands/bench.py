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
        "'seed' (people seeding vs plain executemany), 'subtree' (people under any unit), "
        "'search' (the person search page's query, nationally and in one district), "
        "'publish' (POST /api/v1/broadcasts per level), 'fanout' (outbox rows vs a raw "
        "INSERT … SELECT), 'feed' (GET /api/v1/feed under load vs a trivial view), 'reach' "
        "(reach per unit while statuses stream in), 'send' (one worker against the provider "
        "emulator at R = 80 and 1,000 messages/s), 'webhooks' (status callbacks at 3R/s, "
        "and their batched application vs a raw UPDATE) or 'join' (sign-ups per second "
        "through the public join page: OTP request, verify, create; --samples sign-ups)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "name",
            choices=[
                "seed",
                "subtree",
                "search",
                "publish",
                "fanout",
                "feed",
                "reach",
                "send",
                "webhooks",
                "join",
            ],
        )
        parser.add_argument("--json", action="store_true", help="print only the JSON object")
        parser.add_argument("--people", type=int, default=None)
        parser.add_argument("--booths", type=int, default=None)
        parser.add_argument(
            "--runs",
            type=int,
            default=3,
            help="seed, fanout, publish: runs; feed: rounds (median taken)",
        )
        parser.add_argument(
            "--samples",
            type=int,
            default=None,
            help="subtree, reach: reads per level; search: runs per case; publish: requests "
            "per level",
        )
        parser.add_argument(
            "--seconds", type=float, default=None, help="feed: seconds per round and endpoint"
        )
        parser.add_argument("--clients", type=int, default=None, help="feed: concurrent clients")
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
        elif o["name"] == "join":
            result = run_join_bench(o, progress)
        elif o["name"] in ("send", "webhooks"):
            result = run_channel_bench(o, progress)
        elif o["name"] in BROADCAST_BENCHES:
            result = run_broadcast_bench(o, progress)
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


BROADCAST_BENCHES = ("publish", "fanout", "feed", "reach")


def run_broadcast_bench(o: dict, progress: bool) -> dict:
    """The broadcast benchmarks (``sangathan.broadcasts.bench``); unset options keep each
    function's own defaults."""
    from sangathan.broadcasts import bench as broadcast_bench

    common = {"seed": o["seed"], "progress": progress}
    if o["booths"]:
        common["booths"] = o["booths"]
    if o["people"] is not None:
        common["people"] = o["people"]
    name = o["name"]
    if name == "publish":
        if o["samples"] is not None:
            common["requests"] = o["samples"]
        return broadcast_bench.bench_publish(runs=o["runs"], **common)
    if name == "fanout":
        return broadcast_bench.bench_fanout(runs=o["runs"], **common)
    if name == "feed":
        for option, arg in (("seconds", "seconds"), ("clients", "clients")):
            if o[option] is not None:
                common[arg] = o[option]
        return broadcast_bench.bench_feed(rounds=o["runs"], **common)
    if o["samples"] is not None:
        common["samples"] = o["samples"]
    return broadcast_bench.bench_reach(**common)


def run_channel_bench(o: dict, progress: bool) -> dict:
    """``sangathan.channels.bench``: send (``--seconds`` per rate, default 60) and webhooks
    (``--seconds`` of callbacks per rate, default 20; ``--runs`` applications)."""
    from sangathan.channels import bench as channel_bench

    common = {"seed": o["seed"], "progress": progress}
    if o["booths"]:
        common["booths"] = o["booths"]
    if o["people"] is not None:
        common["people"] = o["people"]
    if o["seconds"] is not None:
        common["seconds"] = o["seconds"]
    if o["name"] == "send":
        return channel_bench.bench_send(**common)
    if o["clients"] is not None:
        common["clients"] = o["clients"]
    return channel_bench.bench_webhooks(runs=o["runs"], **common)


def run_join_bench(o: dict, progress: bool) -> dict:
    """``sangathan.drives.bench``: ``--samples`` sign-ups (default 400) by ``--clients``
    concurrent phones (default 16)."""
    from sangathan.drives import bench as drive_bench

    common = {"seed": o["seed"], "progress": progress}
    if o["booths"]:
        common["booths"] = o["booths"]
    if o["people"] is not None:
        common["people"] = o["people"]
    if o["samples"] is not None:
        common["signups"] = o["samples"]
    if o["clients"] is not None:
        common["clients"] = o["clients"]
    return drive_bench.bench_join(**common)


def sys_argv_for(o: dict) -> list[str]:
    """The options again, as command-line arguments for the child process."""
    argv = [o["name"], "--runs", str(o["runs"]), "--seed", str(o["seed"])]
    for flag in ("people", "booths", "samples", "seconds", "clients"):
        if o[flag] is not None:
            argv += [f"--{flag}", str(o[flag])]
    if o["json"]:
        argv.append("--json")
    if o["with_recount"]:
        argv.append("--with-recount")
    return argv
