"""``sangathan worker``: run the background task worker (people imports and other tasks).

The database task worker of ``django_tasks_db`` under the project's name, with all of its
options (``--batch`` to run what is queued and exit, ``--queue-name``, ``--interval``,
``--max-tasks``…). ``sangathan serve`` starts one next to the web server unless told
``--no-worker``; run more of these (on any machine sharing the database) for more throughput.
"""

from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand


class Command(DbWorkerCommand):
    help = (
        "Run the background task worker (people imports…): waits for queued tasks and runs "
        "them. --batch runs what is queued and exits."
    )
