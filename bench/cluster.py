"""Several server machines, on loopback: Debian's nginx with deploy/nginx/mlcontest.conf (TLS, a
self-signed certificate) in front of 3 ``mlcontest serve`` instances started from
deploy/systemd/mlcontest@.service, each with its own data folder, all on one PostgreSQL
database (tests/deployment.py runs deploy/'s files; nothing here is a copy of them).

Phases, all through nginx over HTTPS unless said:
1. ``pictures_cross_instance``: a worker posts a picture to instance 1 (directly, with the
   headers nginx would add); instances 2 and 3 are asked for it.
2. ``idle_cpu_percent``: 60 workers long-polling with nothing queued, each ping waiting as
   long as deploy/systemd/mlcontest-worker.service's ``--wait`` (25 s); the CPU time of every
   process of the 3 instances over one such wait (every worker's ping comes back once in it,
   as in a steady state), in % of one core (nginx's shown apart; PostgreSQL's is not counted:
   its server is shared with other work on this machine).
3. ``turnaround_p50_s``: with those workers waiting, jobs submitted one at a time; submit to
   result stored, from the database's timestamps.
4. ``p95_ms``, ``errors``: bench/lecture_hall.py's lecture hall (300 students polling the
   leaderboard every 2 s, 5 submissions/s) with 60 long-polling workers, for DURATION_S.
5. ``lost_jobs``: the same workers and submissions; halfway, one instance is killed with
   SIGKILL (its whole process group). nginx moves its traffic to the others; claims the dead
   instance was answering run out (MLCONTEST_LEASE_SECONDS=15 here, not 60, so that the bench
   drains in seconds; shorter, a worker on a machine busy with other work would lose leases it
   still holds, since the bench's workers do not renew them) and go back to the queue.
   Once the queue is drained, every job of the round must be done.

The workers are bench/lecture_hall.py's: the seed protocol's loop, posting labels at once
(no model is fitted), so the figures are the platform's. The instances run with docs/deploy.md's
settings for several machines: one secret key file, and Django's connection pool
(``MLCONTEST_DB_POOL_SIZE``), so that PostgreSQL's default limit of 100 connections holds:
3 instances x PROCESSES x (POOL_SIZE + 1 LISTEN connection for the wake-ups) = 33, where
3 x 2 x 48 threads keeping a connection each would need 288. On this 2-core machine each
instance runs 1 process (the unit says 2) of the unit's 48 threads.

Last line: ``{"p95_ms", "errors", "idle_cpu_percent", "turnaround_p50_s", "lost_jobs",
"pictures_cross_instance", ...}``; targets: p95 < 100, errors 0, idle CPU <= 5, turnaround
p50 <= 0.3, lost 0, pictures true.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import json
import os
import random
import signal
import ssl
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import lecture_hall as hall_bench
from bench._lecture_setup import HALL, reset_postgres
from tests.deployment import WORKER_UNIT, Nginx, server_env, unit_flag, unit_server
from tests.live import LiveServer, free_port

POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/mlc_cluster"
INSTANCES = 3
PROCESSES = 1
THREADS = 48
POOL_SIZE = 10
WORKERS = 60
# The workers wait as long as the worker unit says (the seed protocol's long poll).
PING_WAIT_S = float(unit_flag(WORKER_UNIT, "--wait"))
IDLE_S = PING_WAIT_S
TURNAROUND_JOBS = 20
DURATION_S = 25.0
KILL_PHASE_S = 16.0
LEASE_SECONDS = 15
DRAIN_LIMIT_S = 90.0

# The lecture hall's set-up, with a token for each of the 60 workers.
HALL_60 = HALL.replace("for i in range(30)])", f"for i in range({WORKERS})])")
assert HALL_60 != HALL, "bench/_lecture_setup.py's HALL no longer makes 30 worker tokens"

CONTEXT = ssl.create_default_context()


class TlsHttp(hall_bench.Http):
    """The lecture hall's keep-alive connection, over TLS to nginx (certificate: the bench's)."""

    async def _connect(self) -> None:
        self.close()
        self.reader, self.writer = await asyncio.open_connection(
            "127.0.0.1", self.port, ssl=CONTEXT, server_hostname="localhost"
        )


def use_tls(certificate: Path) -> None:
    CONTEXT.load_verify_locations(str(certificate))
    hall_bench.Http = TlsHttp  # type: ignore[misc]  # the submitter makes its own connections
    hall_bench.PING_WAIT_S = PING_WAIT_S  # the workers' long poll: the unit's


# -- the database, read directly (a subprocess per read would block the load's loop) --------


def query(sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(POSTGRES_URL.replace("postgres://", "postgresql://")) as connection:
        return list(connection.execute(sql, params).fetchall())  # type: ignore[arg-type]


def job_states(round_id: int) -> dict[str, int]:
    rows = query(
        "SELECT state, COUNT(*) FROM contest_job WHERE round_id = %s GROUP BY state", (round_id,)
    )
    return {state: int(count) for state, count in rows}


# -- CPU of a process group, from /proc ---------------------------------------------------


def group_cpu_seconds(group: int) -> float:
    ticks = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[2]) == group:  # pgrp
            ticks += int(fields[11]) + int(fields[12])  # utime + stime
    return ticks / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU seconds every core of the machine has been busy since boot (/proc/stat): what the
    instances, nginx and the load generator did not use of it, other work on the machine did."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


# -- phase 1: a picture posted through one instance, asked of the others ---------------------


def png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 6), "teal").save(buffer, format="PNG")
    return buffer.getvalue()


def pictures_cross_instance(
    servers: list[LiveServer], nginx: Nginx, hall: dict[str, Any]
) -> dict[str, Any]:
    """Claim a job and post its result and picture at instance 1; fetch it from 2 and 3."""
    behind = {"Host": f"localhost:{nginx.https_port}", "X-Forwarded-Proto": "https"}
    worker = {**behind, "Authorization": f"Token {hall['worker_tokens'][0]}"}
    organizer = {**behind, "Authorization": f"Token {hall['organizer_token']}"}
    student = {"Authorization": f"Token {hall['student_tokens'][0]}"}
    through = requests.Session()
    through.trust_env = False
    through.verify = str(nginx.certificate)
    made = through.post(
        f"{nginx.url}/api/rounds/{hall['round']}/jobs/",
        json={"algorithm": "knn", "params": {"n_neighbors": 3}},
        headers=student,
        timeout=30,
    )
    made.raise_for_status()
    first = servers[0].url
    named = {"worker_name": "bench-0"}
    job_id = requests.post(
        f"{first}/actions/ping/", data={**named, "wait": 5}, headers=worker, timeout=30
    ).json()
    fields = {f"labels_{split}": json.dumps(values) for split, values in hall["labels"].items()}
    fields.update(score_test="None", score_validation="None", extra_scores_test="null")
    fields.update(extra_scores_validation="null", message="None", success="True", **named)
    posted = requests.post(
        f"{first}/actions/update_job_details/{job_id}.json/",
        data=fields,
        headers=worker,
        timeout=30,
    )
    posted.raise_for_status()
    image = png()
    added = requests.post(
        f"{first}/actions/add_job_picture/{job_id}.json/",
        data={**named, "filename": "cluster.png", "data": base64.b64encode(image).decode()},
        headers=worker,
        timeout=30,
    )
    added.raise_for_status()
    path = f"/media/jobs/{job_id}/cluster.png"
    answers = {}
    for index, server in enumerate(servers):
        got = requests.get(f"{server.url}{path}", headers=organizer, timeout=30)
        answers[f"instance_{index + 1}"] = got.status_code if got.content != image else "same"
    others = [answers[f"instance_{index + 1}"] for index in range(1, len(servers))]
    return {"served": all(answer == "same" for answer in others), "answers": answers}


# -- phases 2 and 3: idle workers, then single jobs ------------------------------------------


async def idle_and_turnaround(
    nginx: Nginx, servers: list[LiveServer], hall: dict[str, Any]
) -> dict[str, Any]:
    stats = hall_bench.Stats()
    start = time.perf_counter()
    end = start + 3.0 + IDLE_S + TURNAROUND_JOBS * 0.5 + 3.0
    connections = [TlsHttp("localhost", nginx.https_port) for _ in range(WORKERS)]
    workers = [
        asyncio.create_task(
            hall_bench.worker(
                stats, http, hall["worker_tokens"][index], f"bench-{index}", hall["labels"], end
            )
        )
        for index, http in enumerate(connections)
    ]
    await asyncio.sleep(3.0)  # every worker is waiting in a long poll
    groups = [server.process.pid for server in servers if server.process is not None]
    nginx_pid = nginx.process.pid if nginx.process is not None else 0
    before = sum(group_cpu_seconds(group) for group in groups), group_cpu_seconds(nginx_pid)
    began = time.perf_counter()
    await asyncio.sleep(IDLE_S)
    seconds = time.perf_counter() - began
    after = sum(group_cpu_seconds(group) for group in groups), group_cpu_seconds(nginx_pid)
    idle = {
        "idle_cpu_percent": round(100 * (after[0] - before[0]) / seconds, 2),
        "nginx_idle_cpu_percent": round(100 * (after[1] - before[1]) / seconds, 2),
    }
    # One job at a time, each while every worker waits: the turnaround an idle class sees.
    submitted = []
    http = TlsHttp("localhost", nginx.https_port)
    rng = random.Random(3)
    for _ in range(TURNAROUND_JOBS):
        answer = await hall_bench.timed(
            stats,
            "POST /api/rounds/<id>/jobs/",
            http,
            "POST",
            f"/api/rounds/{hall['round']}/jobs/",
            {
                "Authorization": f"Token {rng.choice(hall['student_tokens'])}",
                "Content-Type": "application/json",
            },
            json.dumps({"algorithm": "knn", "params": {"n_neighbors": 3}}).encode(),
            expect=(201,),
        )
        if answer is not None and answer[0] == 201:
            submitted.append(json.loads(answer[2])["id"])
        await asyncio.sleep(0.5)
    http.close()
    await asyncio.gather(*workers)
    for connection in connections:
        connection.close()
    rows = await asyncio.to_thread(
        query,
        "SELECT EXTRACT(EPOCH FROM finished_at - created_at) FROM contest_job "
        "WHERE id = ANY(%s) AND finished_at IS NOT NULL",
        (submitted,),
    )
    waits = sorted(float(row[0]) for row in rows)
    idle.update(
        turnaround_p50_s=round(statistics.median(waits), 3) if waits else None,
        turnaround_max_s=round(waits[-1], 3) if waits else None,
        turnaround_jobs=f"{len(waits)} of {len(submitted)} finished",
        idle_phase_errors=sum(stats.errors.values()),
    )
    return idle


# -- phase 4: the lecture hall --------------------------------------------------------------


async def connections_peak(end: float, peak: list[int]) -> None:
    """The most connections to the bench's database seen at once (sampled each second): the
    connection arithmetic, checked."""
    name = POSTGRES_URL.rsplit("/", 1)[1]
    sql = "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()"
    while time.perf_counter() < end:
        rows = await asyncio.to_thread(query, sql, (name,))
        peak[0] = max(peak[0], int(rows[0][0]))
        await asyncio.sleep(1.0)


async def lecture(
    nginx: Nginx, hall: dict[str, Any], duration: float, peak: list[int]
) -> hall_bench.Stats:
    stats = hall_bench.Stats()
    start = time.perf_counter() + 0.5
    end = start + duration
    port = nginx.https_port
    students = [TlsHttp("localhost", port) for _ in hall["sessions"]]
    workers = [TlsHttp("localhost", port) for _ in range(WORKERS)]
    await asyncio.gather(
        *(
            hall_bench.student(stats, http, session, hall["round"], start, end)
            for http, session in zip(students, hall["sessions"], strict=True)
        ),
        *(
            hall_bench.worker(
                stats, http, hall["worker_tokens"][index], f"bench-{index}", hall["labels"], end
            )
            for index, http in enumerate(workers)
        ),
        hall_bench.submitter(
            stats, "localhost", port, hall["student_tokens"], hall["round"], start, end
        ),
        connections_peak(end, peak),
    )
    for http in students + workers:
        http.close()
    return stats


# -- phase 5: one instance killed mid-load ----------------------------------------------------


async def kill_one(nginx: Nginx, victim: LiveServer, hall: dict[str, Any]) -> dict[str, Any]:
    stats = hall_bench.Stats()
    port = nginx.https_port
    start = time.perf_counter() + 0.5
    submissions_end = start + KILL_PHASE_S
    far = start + KILL_PHASE_S + DRAIN_LIMIT_S
    connections = [TlsHttp("localhost", port) for _ in range(WORKERS)]
    workers = [
        asyncio.create_task(
            hall_bench.worker(
                stats, http, hall["worker_tokens"][index], f"bench-{index}", hall["labels"], far
            )
        )
        for index, http in enumerate(connections)
    ]
    submitter = asyncio.create_task(
        hall_bench.submitter(
            stats, "localhost", port, hall["student_tokens"], hall["round"], start, submissions_end
        )
    )
    await asyncio.sleep(KILL_PHASE_S / 2)
    assert victim.process is not None
    os.killpg(victim.process.pid, signal.SIGKILL)
    victim.process.wait()
    killed_at = time.perf_counter()
    await submitter
    # Drained: nothing queued or running (the dead instance's claims come back after their
    # lease), or the limit.
    drained_after = None
    while time.perf_counter() < far:
        states = await asyncio.to_thread(job_states, hall["round"])
        if not states.get("queued") and not states.get("running"):
            drained_after = round(time.perf_counter() - killed_at, 1)
            break
        await asyncio.sleep(1.0)
    for task in workers:
        task.cancel()
    await asyncio.gather(*workers, return_exceptions=True)
    for connection in connections:
        connection.close()
    states = await asyncio.to_thread(job_states, hall["round"])
    return {
        "lost_jobs": sum(count for state, count in states.items() if state != "done"),
        "jobs_after_kill": states,
        "drained_s_after_kill": drained_after,
        "errors_during_kill": sum(stats.errors.values()),
        "error_samples_during_kill": stats.samples,
    }


def run(duration: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="mlc-cluster-") as folder:
        root = Path(folder)
        ports = [free_port() for _ in range(INSTANCES)]
        static = root / "srv" / "mlcontest" / str(ports[0]) / "static"
        nginx = Nginx(root / "nginx", [f"127.0.0.1:{port}" for port in ports], static).start()
        use_tls(nginx.certificate)
        # docs/deploy.md's server.env: the public URL, one secret key file for every
        # instance (a session signed by one is valid at the others), the pool.
        settings = server_env(
            root,
            nginx.url,
            MLCONTEST_DB_POOL_SIZE=str(POOL_SIZE),
            MLCONTEST_LEASE_SECONDS=str(LEASE_SECONDS),
            MLCONTEST_EVENT_LOG_LEVEL="WARNING",
        )
        servers: list[LiveServer] = []
        try:
            for port in ports:
                server = unit_server(root / "srv", POSTGRES_URL, settings, port=port)
                argv = server.argv or []
                argv[argv.index("--processes") + 1] = str(PROCESSES)
                argv[argv.index("--threads") + 1] = str(THREADS)
                servers.append(server.start(timeout=120))
            hall = json.loads(servers[0].run_python(HALL_60).strip().splitlines()[-1])
            print("== pictures across instances", flush=True)
            pictures = pictures_cross_instance(servers, nginx, hall)
            print(json.dumps(pictures), flush=True)
            print(f"== idle: {WORKERS} workers waiting; then {TURNAROUND_JOBS} jobs", flush=True)
            idle = asyncio.run(idle_and_turnaround(nginx, servers, hall))
            print(json.dumps(idle), flush=True)
            print(
                f"== lecture hall through nginx: {len(hall['sessions'])} students, {WORKERS} "
                f"workers, 5/s submissions, {duration:.0f} s",
                flush=True,
            )
            generator_before = time.process_time()
            groups = [server.process.pid for server in servers if server.process is not None]
            groups.append(nginx.process.pid if nginx.process is not None else 0)
            ours_before = sum(group_cpu_seconds(group) for group in groups)
            machine_before, wall_before = machine_busy_seconds(), time.perf_counter()
            peak = [0]
            stats = asyncio.run(lecture(nginx, hall, duration, peak))
            # The load generator's own CPU (TLS in Python): near a core, it would be the limit.
            generator = 100 * (time.process_time() - generator_before) / duration
            wall = time.perf_counter() - wall_before
            ours = sum(group_cpu_seconds(group) for group in groups) - ours_before
            machine = machine_busy_seconds() - machine_before
            # The rest of the machine's busy time: PostgreSQL's server (this bench's database
            # among others') and whatever else runs on the machine.
            others = machine - ours - generator * duration / 100
            table = stats.table()
            served = {key: row for key, row in table.items() if key != hall_bench.LONG_POLL}
            load = {
                "endpoints": table,
                "p95_ms": max(row.get("p95_ms", 0.0) for row in served.values()),
                "errors": sum(row["errors"] for row in table.values()),
                "error_samples": stats.samples,
                "generator_cpu_percent": round(generator, 1),
                "database_connections_peak": peak[0],
                "servers_and_nginx_cpu_percent": round(100 * ours / wall, 1),
                "machine_busy_percent": round(100 * machine / wall, 1),
                "others_cpu_percent": round(100 * others / wall, 1),
                "cores": os.cpu_count(),
            }
            print(json.dumps(load, indent=1), flush=True)
            print("== one instance killed (SIGKILL) mid-load", flush=True)
            killed = asyncio.run(kill_one(nginx, servers[1], hall))
            print(json.dumps(killed), flush=True)
        finally:
            for server in servers:
                server.stop()
            nginx.stop()
    return {
        "p95_ms": load["p95_ms"],
        "errors": load["errors"],
        "idle_cpu_percent": idle["idle_cpu_percent"],
        "turnaround_p50_s": idle["turnaround_p50_s"],
        "lost_jobs": killed["lost_jobs"],
        "pictures_cross_instance": pictures["served"],
        "errors_during_kill": killed["errors_during_kill"],
        "nginx_idle_cpu_percent": idle["nginx_idle_cpu_percent"],
        "generator_cpu_percent": load["generator_cpu_percent"],
        # During the lecture hall, in % of one core: ours, and the rest of the machine's busy
        # time (PostgreSQL and other work; the machine is shared).
        "servers_and_nginx_cpu_percent": load["servers_and_nginx_cpu_percent"],
        "others_cpu_percent": load["others_cpu_percent"],
        "machine_busy_percent": load["machine_busy_percent"],
        "cores": load["cores"],
        # The machine's load while it ran: other work on a shared machine shows in every figure.
        "load_average_1min": round(os.getloadavg()[0], 1),
        "instances": INSTANCES,
        "processes_per_instance": PROCESSES,
        "threads_per_process": THREADS,
        "ping_wait_s": PING_WAIT_S,
        "pool_size": POOL_SIZE,
        "database_connections_at_most": INSTANCES * PROCESSES * (POOL_SIZE + 1),
        "database_connections_peak": load["database_connections_peak"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=float, default=DURATION_S, help="seconds of load")
    args = parser.parse_args()
    if not reset_postgres(POSTGRES_URL):
        print("PostgreSQL is not reachable: skipped", flush=True)
        print(json.dumps({"skipped": "PostgreSQL is not reachable"}))
        return 0
    try:
        final = run(args.duration)
    finally:
        import psycopg

        with psycopg.connect(
            "postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True
        ) as connection:
            connection.execute('DROP DATABASE IF EXISTS "mlc_cluster" WITH (FORCE)')
    print(json.dumps(final))
    return 0


if __name__ == "__main__":
    sys.exit(main())
