#!/usr/bin/env python3
"""Time `ctfdeck smoke` stage by stage, and pair its spawn->ready part with the raw engine.

For each run, alternately:
  * ctfdeck: `ctfdeck smoke CHALLENGE --json` on a fresh store (the image is cached after the
    warm-up build); the stage durations come from the report.
  * raw engine, like for like: the same requests ctfdeck makes, straight to the engine API over
    its socket, with no ctfdeck in between -- create a bridge network, create the container
    with the same hardening, start it, read its published port, then poll GET / until the
    first HTTP answer.
  * raw engine, bare: `docker run -p` equivalent on the default bridge, no hardening, for
    context (what the engine costs without a network of its own).

Prints a Markdown report (medians, min, max) to stdout. Only the Python standard library
is used. Usage:

    cargo build --release
    scripts/bench-smoke.py [--runs 15] [--challenge web-robots] [--bin target/release/ctfdeck]
"""

import argparse
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

API = "/v1.41"
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class UnixHTTPConnection(http.client.HTTPConnection):
    """HTTP over the engine's unix socket, kept alive between requests (as bollard does)."""

    def __init__(self, path):
        super().__init__("localhost")
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path)


class Engine:
    def __init__(self, path):
        self.conn = UnixHTTPConnection(path)

    def call(self, method, url, body=None, ok=(200, 201, 204, 304)):
        headers = {"Content-Type": "application/json"} if body is not None else {}
        data = json.dumps(body).encode() if body is not None else None
        self.conn.request(method, API + url, body=data, headers=headers)
        resp = self.conn.getresponse()
        raw = resp.read()
        if resp.status not in ok:
            raise RuntimeError(f"{method} {url}: {resp.status} {raw[:300]!r}")
        return json.loads(raw) if raw else None


def socket_path():
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if not host.startswith("unix://"):
        sys.exit("this script talks to a local engine socket (DOCKER_HOST=unix://...)")
    return host[len("unix://"):]


def first_answer(port, deadline):
    """Poll GET / until an HTTP status line comes back; return the time it did."""
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"GET / HTTP/1.0\r\nHost: bench\r\n\r\n")
                s.settimeout(2)
                if s.recv(16).startswith(b"HTTP/"):
                    return time.monotonic()
        except OSError:
            pass
        time.sleep(0.005)
    raise RuntimeError(f"port {port} never answered")


def hardened_body(image, network, memory, pids, cpus):
    """The container ctfdeck creates for the example challenges (src/engine/docker/containers.rs)."""
    return {
        "Image": image,
        "User": "2000000000:2000000000",
        "Env": ["FLAG=flag{0123456789abcdef}"],
        "ExposedPorts": {"8080/tcp": {}},
        "Labels": {"org.ctfdeck.bench": "raw"},
        "HostConfig": {
            "CapDrop": ["ALL"],
            "SecurityOpt": ["no-new-privileges:true"],
            "ReadonlyRootfs": True,
            "Privileged": False,
            "Tmpfs": {"/tmp": "rw,noexec,nosuid,nodev,size=16m"},
            "Memory": memory,
            "MemorySwap": memory,
            "NanoCpus": int(cpus * 1e9),
            "PidsLimit": pids,
            "Init": True,
            "NetworkMode": network,
            "PortBindings": {"8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": ""}]},
            "PublishAllPorts": False,
            "RestartPolicy": {"Name": "no"},
            "LogConfig": {"Type": "json-file", "Config": {"max-size": "1m", "max-file": "2"}},
        },
    }


def published_port(engine, cid):
    info = engine.call("GET", f"/containers/{cid}/json")
    return int(info["NetworkSettings"]["Ports"]["8080/tcp"][0]["HostPort"])


def raw_like_for_like(engine, image, n):
    name = f"ctfdeck-bench-{os.getpid()}-{n}"
    t0 = time.monotonic()
    net = engine.call("POST", "/networks/create", {
        "Name": name, "Driver": "bridge", "Internal": False, "Attachable": False,
        "Labels": {"org.ctfdeck.bench": "raw"},
        "Options": {"com.docker.network.bridge.enable_icc": "false"},
    })["Id"]
    t1 = time.monotonic()
    cid = engine.call("POST", f"/containers/create?name={name}",
                      hardened_body(image, name, 64 << 20, 64, 0.5))["Id"]
    t2 = time.monotonic()
    engine.call("POST", f"/containers/{cid}/start")
    t3 = time.monotonic()
    port = published_port(engine, cid)
    t4 = time.monotonic()
    t5 = first_answer(port, t4 + 30)
    engine.call("DELETE", f"/containers/{cid}?force=true&v=true")
    engine.call("DELETE", f"/networks/{net}")
    return {"network": t1 - t0, "create": t2 - t1, "start": t3 - t2,
            "inspect": t4 - t3, "answer": t5 - t4, "total": t5 - t0}


def raw_bare(engine, image, n):
    name = f"ctfdeck-bench-bare-{os.getpid()}-{n}"
    t0 = time.monotonic()
    cid = engine.call("POST", f"/containers/create?name={name}", {
        "Image": image, "ExposedPorts": {"8080/tcp": {}},
        "Labels": {"org.ctfdeck.bench": "raw"},
        "HostConfig": {"PortBindings": {"8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": ""}]}},
    })["Id"]
    engine.call("POST", f"/containers/{cid}/start")
    port = published_port(engine, cid)
    t1 = first_answer(port, time.monotonic() + 30)
    engine.call("DELETE", f"/containers/{cid}?force=true&v=true")
    return {"total": t1 - t0}


def ctfdeck_smoke(binary, challenge, config, workdir, n):
    store = os.path.join(workdir, f"smoke-{n}.db")
    out = subprocess.run(
        [binary, "--config", config, "--store", store, "--catalog", os.path.join(REPO, "challenges"),
         "smoke", challenge, "--json"],
        capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"smoke failed:\n{out.stdout}\n{out.stderr}")
    report = json.loads(out.stdout)[0]
    stages = {s["stage"]: s["duration_ms"] / 1000 for s in report["stages"]}
    stages["spawn+ready"] = stages["spawn"] + stages["ready"]
    stages["total"] = report["duration_ms"] / 1000
    return stages


def row(label, samples):
    ms = [s * 1000 for s in samples]
    return f"| {label} | {statistics.median(ms):.0f} | {min(ms):.0f} | {max(ms):.0f} |"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--challenge", default="web-robots")
    parser.add_argument("--bin", default=os.path.join(REPO, "target/release/ctfdeck"))
    args = parser.parse_args()
    if not os.access(args.bin, os.X_OK):
        sys.exit(f"{args.bin} not found: run `cargo build --release` first")

    engine = Engine(socket_path())
    image = f"ctfdeck/{args.challenge}:latest"
    workdir = tempfile.mkdtemp(prefix="ctfdeck-bench-")
    config = os.path.join(workdir, "config.toml")
    with open(config, "w") as f:
        # Same address as the raw runs: loopback only.
        f.write('[container]\nbind_address = "127.0.0.1"\n')
    try:
        # Warm-up: the image is built (then cached) and every path has run once.
        subprocess.run([args.bin, "--config", config, "--store", os.path.join(workdir, "warm.db"),
                        "--catalog", os.path.join(REPO, "challenges"), "build", args.challenge],
                       check=True, capture_output=True)
        ctfdeck_smoke(args.bin, args.challenge, config, workdir, "warm")
        raw_like_for_like(engine, image, "warm")
        raw_bare(engine, image, "warm")

        smoke, raw, bare = [], [], []
        for n in range(args.runs):
            smoke.append(ctfdeck_smoke(args.bin, args.challenge, config, workdir, n))
            raw.append(raw_like_for_like(engine, image, n))
            bare.append(raw_bare(engine, image, n))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    pick = lambda runs, key: [r[key] for r in runs]
    docker = subprocess.run(["docker", "version", "--format", "{{.Server.Version}}"],
                            capture_output=True, text=True).stdout.strip()
    print(f"`ctfdeck smoke {args.challenge}`, cached image, {args.runs} runs each, interleaved; "
          f"engine {docker}, {os.cpu_count()} CPUs. Times in ms.\n")
    print("| ctfdeck smoke stage | median | min | max |")
    print("|---|---:|---:|---:|")
    for stage in ["validate", "build", "spawn", "ready", "check", "teardown", "total"]:
        print(row(stage, pick(smoke, stage)))
    print("\n| spawn → first answer | median | min | max |")
    print("|---|---:|---:|---:|")
    print(row("ctfdeck (spawn + ready stages)", pick(smoke, "spawn+ready")))
    print(row("raw engine, like for like (network + create + start + inspect + first answer)",
              pick(raw, "total")))
    for part in ["network", "create", "start", "inspect", "answer"]:
        print(row(f"  raw: {part}", pick(raw, part)))
    print(row("raw engine, bare (default bridge, no hardening)", pick(bare, "total")))
    ours = statistics.median(pick(smoke, "spawn+ready"))
    theirs = statistics.median(pick(raw, "total"))
    bare_total = statistics.median(pick(bare, "total"))
    print(f"\nspawn→ready / raw like-for-like: **{ours / theirs:.2f}×** (goal ≤ 1.2×); "
          f"/ raw bare: {ours / bare_total:.2f}×")


if __name__ == "__main__":
    main()
