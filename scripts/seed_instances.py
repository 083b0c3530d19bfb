#!/usr/bin/env python3
"""Seed a ctfdeck store with N live instances for measurements. Each row is backed by a real
container carrying ctfdeck's labels, created but not started: the console and reconcile see
N instances the engine knows, without N running processes and N networks (Docker's default
address pools give about 30 bridge networks, far fewer than 1,000).

usage: seed_instances.py STORE N [RUNNING]   (the store must exist: run any ctfdeck command on it first)

RUNNING (default 0): that many of them are started (a sleeping busybox each, still without a
network): the first rows a console shows (the oldest), so resource sampling has real processes
to read.
"""
import json
import random
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

IMAGE = "busybox:1.36"
CHALLENGES = ["web-robots", "nc-calc", "web-cmdinject"]


def main():
    store, n = sys.argv[1], int(sys.argv[2])
    running = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    db = sqlite3.connect(store, timeout=30)
    store_id = db.execute("SELECT value FROM settings WHERE key = 'store_id'").fetchone()[0]
    now = int(time.time() * 1000)
    rng = random.Random(7)

    def create(i):
        iid = f"s{i:05d}"
        challenge = CHALLENGES[i % len(CHALLENGES)]
        owner = f"team:team-{i // 2:04d}"
        expires = now + rng.randint(5 * 60_000, 3 * 3_600_000)
        labels = {
            "org.ctfdeck.managed": "true",
            "org.ctfdeck.store": store_id,
            "org.ctfdeck.instance": iid,
            "org.ctfdeck.challenge": challenge,
            "org.ctfdeck.owner": owner,
            "org.ctfdeck.expires": str(expires),
        }
        args = ["docker", "create", "--network", "none", "--name", f"ctfdeck-seed-{store_id[:6]}-{iid}"]
        for k, v in labels.items():
            args += ["--label", f"{k}={v}"]
        cid = subprocess.run(args + [IMAGE, "sleep", "2147483647"], check=True, capture_output=True, text=True).stdout.strip()
        ports = json.dumps([{"container": 8080, "host_ip": "0.0.0.0", "host_port": 40000 + i, "protocol": "http"}])
        return (iid, challenge, owner, "running", cid, None, ports, None, now - rng.randint(0, 3_600_000),
                expires, None, rng.randint(0, 3), 3, now + 3 * 3_600_000, None, now)

    with ThreadPoolExecutor(8) as pool:
        rows = list(pool.map(create, range(n)))
    # The console lists by creation time: the oldest rows are the ones on screen.
    oldest = sorted(rows, key=lambda r: (r[8], r[0]))[:running]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda r: subprocess.run(["docker", "start", r[4]], check=True, capture_output=True), oldest))
    db.executemany(
        "INSERT INTO instances (id, challenge, owner, status, container_id, network_id, ports, flag,"
        " created_at, expires_at, stopped_at, renewals, max_renewals, max_total_at, stop_reason, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    db.commit()
    print(f"seeded {n} instances, {len(oldest)} started (store id {store_id})")


if __name__ == "__main__":
    main()
