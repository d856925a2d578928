"""The worker: the job loop (``loop``), the sandboxed child (``sandbox``, ``child``), the run of
one job (``run``) and its pictures (``pictures``). Started by ``mlcontest worker``."""
