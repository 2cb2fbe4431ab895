"""``sangathan seed --booths N --people M``: a synthetic organisation of any size."""

import sys
import time

from django.core.management.base import BaseCommand, CommandError

from sangathan.core import seeding


class Command(BaseCommand):
    help = (
        "Generate a synthetic organisation (states down to booths, codes starting SYN-) with "
        "--booths booths and --people people spread over them, using bulk inserts."
    )

    def add_arguments(self, parser):
        parser.add_argument("--booths", type=int, default=0, help="booths to create")
        parser.add_argument("--people", type=int, default=0, help="people to create")
        parser.add_argument(
            "--state-code",
            default=None,
            help="put everything under one synthetic state SYN-<code> (default: SYN-S01…S36)",
        )
        parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
        parser.add_argument("--quiet", action="store_true", help="no progress bar")

    def handle(self, *args, booths, people, state_code, seed, quiet, **options):
        if booths < 0 or people < 0:
            raise CommandError("--booths and --people must not be negative.")
        if state_code and not state_code.replace("-", "").isalnum():
            raise CommandError(
                f"--state-code {state_code!r} must be letters and digits, such as XX."
            )
        progress = not quiet and sys.stderr.isatty()
        prefix = seeding.unit_prefix(state_code)
        started = time.monotonic()
        if booths:
            try:
                shape = seeding.build_org(booths, state_code=state_code, progress=progress)
            except ValueError as e:
                raise CommandError(str(e)) from e
            self.stdout.write(
                f"Units: {shape.states} states, {shape.regions} regions, "
                f"{shape.districts} districts, {shape.acs} ACs, {shape.mandals} mandals, "
                f"{shape.sectors} sectors, {shape.booths} booths "
                f"({time.monotonic() - started:.1f} s)"
            )
        if people:
            target = seeding.booths_under(prefix)
            if not target:
                raise CommandError(
                    f"There are no synthetic booths with codes starting {prefix}- to put people "
                    "in: pass --booths as well."
                )
            t = time.monotonic()
            try:
                seeding.seed_people(people, target, seed=seed, progress=progress)
            except ValueError as e:
                raise CommandError(str(e)) from e
            self.stdout.write(
                f"People: {people} over {len(target)} booths ({time.monotonic() - t:.1f} s)"
            )
        self.stdout.write(f"Done in {time.monotonic() - started:.1f} s.")
