#!/usr/bin/env python3
"""Peak memory and answer time of the gateway under issue 18's hostile
bodies (each just under the 1 MiB body limit), against a small request
measured in the same run.

  scripts/hostile-bodies.py              # edgectl serve (release build)
  scripts/hostile-bodies.py --wrangler   # and the api Worker in wrangler dev
                                         # (needs scripts/build-workers.sh api)

For edgectl it reports idle RSS, the kernel's peak RSS (VmHWM) after every
shape has been sent ROUNDS times without and with credentials (plus 8 at
once for each shape), and the slowest answer per shape. Nothing here is a
test: the process test `crates/edgectl/tests/hostile.rs` asserts behaviour.
"""

import argparse
import base64
import hashlib
import hmac
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MIB = 1 << 20
SECRET = "hostile-bodies-secret-of-at-least-32-bytes"


def config_json():
    """The example config with the rejections guard out of the way, so every
    shape is scanned instead of being refused up front after 30 of them."""
    import tomllib
    with open(os.path.join(ROOT, "crates/edge-gateway/example-gateway.toml"), "rb") as f:
        cfg = tomllib.load(f)
    cfg["security"]["rejections"] = {"limit": 1_000_000, "window_secs": 60}
    for tier in cfg["security"]["rate_limits"]["quotas"].values():
        for cat in tier.values():
            cat["limit"] = 1_000_000
    return json.dumps(cfg)


def token():
    b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    now = int(time.time())
    claims = b64(json.dumps({"sub": "hostile", "iss": "edgeforge-dev", "aud": "edgeforge",
                             "iat": now, "exp": now + 3600}).encode())
    sig = hmac.new(SECRET.encode(), f"{head}.{claims}".encode(), hashlib.sha256).digest()
    return f"{head}.{claims}.{b64(sig)}"


def fill(prefix, item, suffix):
    room = MIB - len(prefix) - len(suffix) - 16
    n = room // (len(item) + 1)
    return (prefix + ",".join([item] * n) + suffix).encode()


def shapes():
    long_key = "k" * (512 * 1024)
    keys, size, i = [], 2, 0
    while size < MIB - 32:
        keys.append(f'"k{i}":""')
        size += len(keys[-1]) + 1
        i += 1
    many_keys = "{" + ",".join(keys) + "}"
    long_keys = "{" + ",".join(f'"{j}{"k" * 60_000}":["x","y"]' for j in range(16)) + "}"
    nested = '{"a":' * 120 + '"x"' + "}" * 120
    out = [
        ("long key, many strings", fill('{"' + long_key + '":[', '""', "]}")),
        ("deep nesting", b"[" * (MIB - 16)),
        ("nesting at the parser's limit", fill("[", nested, "]")),
        ("many keys", many_keys.encode()),
        ("long keys", long_keys.encode()),
        ("many strings", fill("[", '"a"', "]")),
        ("many attacks", fill("[", "\"' or 1=1-- \"", "]")),
        ("many objects", fill('{"model":"mock-1","x":[', '{"a":1}', "]}")),
        ("long hostile values", fill("[", '"' + "select (" * 8000 + '"', "]")),
    ]
    for name, body in out:
        assert len(body) <= MIB, (name, len(body))
    return out


def post(port, body, token=None):
    headers = {"content-type": "application/json", "user-agent": "hostile-bodies"}
    if token:
        headers["authorization"] = "Bearer " + token
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    start = time.perf_counter()
    conn.request("POST", "/v1/chat/completions", body=body, headers=headers)
    resp = conn.getresponse()
    resp.read()
    took = time.perf_counter() - start
    conn.close()
    return resp.status, took


def healthy(port):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/health")
    ok = conn.getresponse().status == 200
    conn.close()
    return ok


def proc_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def run_shapes(port, bearer, rounds, label, pid=None):
    small = json.dumps({"model": "mock-1", "messages": [{"role": "user", "content": "hi"}]}).encode()
    base = min(post(port, small)[1] for _ in range(20))
    print(f"\n{label}: baseline small unauthenticated POST: {base * 1000:.2f} ms (best of 20)")
    print(f"{'shape':32} {'status':>10} {'worst ms':>9} {'× baseline':>11}")
    worst_all = 0.0
    for name, body in shapes():
        statuses, worst = set(), 0.0
        for auth in [None, bearer]:
            for _ in range(rounds):
                status, took = post(port, body, auth)
                statuses.add(status)
                worst = max(worst, took)
        if pid:
            threads = [threading.Thread(target=post, args=(port, body)) for _ in range(8)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        if not healthy(port):
            print(f"  {name}: /health stopped answering")
            sys.exit(1)
        worst_all = max(worst_all, worst)
        print(f"{name:32} {','.join(map(str, sorted(statuses))):>10} {worst * 1000:9.1f} {worst / base:11.1f}")
    return worst_all


def edgectl(rounds):
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "edgectl"], cwd=ROOT, check=True)
    data = tempfile.mkdtemp(prefix="hostile-bodies-")
    cfg = os.path.join(data, "gateway.json")
    with open(cfg, "w") as f:
        f.write(config_json())
    proc = subprocess.Popen(
        [os.path.join(ROOT, "target/release/edgectl"), "serve", "--listen", "127.0.0.1:0",
         "--threads", "2", "--data-dir", data, "--config", cfg],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env=dict(os.environ, JWT_HS256_SECRET=SECRET),
    )
    try:
        port = int(re.search(r"http://127\.0\.0\.1:(\d+)", proc.stdout.readline()).group(1))
        threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
        time.sleep(1.0)
        idle = proc_kib(proc.pid, "VmRSS")
        worst = run_shapes(port, token(), rounds, "edgectl serve --threads 2", proc.pid)
        peak = proc_kib(proc.pid, "VmHWM")
        print(f"\nRSS idle {idle / 1024:.1f} MiB, peak {peak / 1024:.1f} MiB "
              f"(+{(peak - idle) / 1024:.1f} MiB; budget +64 MiB); worst answer {worst * 1000:.1f} ms")
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        shutil.rmtree(data, ignore_errors=True)


def wrangler(rounds):
    if not os.path.exists(os.path.join(ROOT, "workers/api/build/worker/shim.mjs")):
        print("\nwrangler: skipped (run scripts/build-workers.sh api first)")
        return
    port = 18787
    persist = tempfile.mkdtemp(prefix="hostile-wrangler-")
    proc = subprocess.Popen(
        [os.path.join(ROOT, "node_modules/.bin/wrangler"), "dev", "-c", "workers/api/wrangler.toml",
         "--ip", "127.0.0.1", "--port", str(port), "--persist-to", persist,
         "--var", f"JWT_HS256_SECRET:{SECRET}", "--var", f"GATEWAY_CONFIG:{config_json()}"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env=dict(os.environ, WRANGLER_SEND_METRICS="false"),
    )
    try:
        for _ in range(120):
            try:
                if healthy(port):
                    break
            except OSError:
                time.sleep(0.5)
        run_shapes(port, token(), rounds, "api Worker in wrangler dev (workerd)")
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        shutil.rmtree(persist, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--wrangler", action="store_true")
    args = ap.parse_args()
    edgectl(args.rounds)
    if args.wrangler:
        wrangler(args.rounds)


if __name__ == "__main__":
    main()
