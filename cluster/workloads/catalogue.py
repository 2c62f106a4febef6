"""The catalogue of simulated programs, chosen like a real container chooses its process:
argv = (command or the image's ENTRYPOINT) + (args, or the image's CMD when no command).

    program (argv[0])                   workload   behaviour
    nginx, httpd, agnhost netexec,      web        listens (80, 8080, 5678…), answers HTTP with a latency
    http-echo, python -m http.server               that grows with load, writes access logs, exits on its
                                                   stop signal
    /web  (clusterscope/web)            web        flags: --port=8080 --startup=0 (503 until then) --ready-after=0
                                                   --fail-after=N (liveness endpoints answer 500 from
                                                   N s on) --drain=1 (seconds to shut down on SIGTERM)
                                                   --cost-ms=10 (cpu per request)
    /slow-start (clusterscope/slow-start) web      as /web with --ready-after=30: readiness endpoints
                                                   answer 503 until then; /livez stays 200
    /batch (clusterscope/batch)         batch      --seconds=10 --exit=0: works, logs progress, exits
    /crasher (clusterscope/crasher)     crasher    --after=5 --code=1: panics after N seconds
    /memhog (clusterscope/memhog)       memhog     --rate=50Mi --every=1: allocates until OOM-killed
    perl … bpi(N)                       batch      prints N digits of pi after a while (the Job example)
    redis-server, memcached, postgres   server     listens on its port (postgres without
                                                   POSTGRES_PASSWORD exits 1, as the real image does)
    sh -c "…", sleep, echo, touch, …    shell      a tiny shell: ; && || while/for loops, sleep, echo,
                                                   touch, rm, cat, test, date, env, trap, exit;
                                                   as PID 1 it ignores SIGTERM unless it set a trap
    sh, bash, python, perl (no script)  shell      no terminal: read EOF and exit 0 at once (busybox's
                                                   famous CrashLoopBackOff with reason Completed)
    pause                               pause      the sandbox's process: sleeps until killed
    anything else                       missing    StartContainer fails: executable file not found

A process is a dict (plain data). The runtime calls start/wake/signal/serve/exec_probe and
applies their outputs: ["log", "stdout"|"stderr", text] and ["exit", code]. The process
names its next wake-up in proc["wake_at"] (None: none); usage is proc["memory"] (bytes) and
proc["cpu_m"] (millicores, before the cgroup's cap).
"""

import datetime
import json
import shlex

from ..kernel import calendar
from ..runtime.images import repo_name
from ..runtime.units import MI, byte_count

SECOND = 1_000_000
MS = 1_000

# repo name -> (ENTRYPOINT, CMD, stop signal)
IMAGE_DEFAULTS = {
    "nginx": (["/docker-entrypoint.sh"], ["nginx", "-g", "daemon off;"], "SIGQUIT"),
    "httpd": ([], ["httpd-foreground"], "SIGWINCH"),
    "redis": (["docker-entrypoint.sh"], ["redis-server"], "SIGTERM"),
    "memcached": (["docker-entrypoint.sh"], ["memcached"], "SIGTERM"),
    "postgres": (["docker-entrypoint.sh"], ["postgres"], "SIGINT"),
    "python": ([], ["python3"], "SIGTERM"),
    "perl": ([], ["perl", "-de0"], "SIGTERM"),
    "busybox": ([], ["sh"], "SIGTERM"),
    "alpine": ([], ["/bin/sh"], "SIGTERM"),
    "ubuntu": ([], ["/bin/bash"], "SIGTERM"),
    "http-echo": (["/http-echo"], [], "SIGTERM"),
    "pause": (["/pause"], [], "SIGTERM"),
    "agnhost": (["/agnhost"], ["netexec"], "SIGTERM"),
    "web": (["/web"], [], "SIGTERM"),
    "batch": (["/batch"], [], "SIGTERM"),
    "crasher": (["/crasher"], [], "SIGTERM"),
    "slow-start": (["/slow-start"], [], "SIGTERM"),
    "memhog": (["/memhog"], [], "SIGTERM"),
}

SHELLS = ("sh", "bash", "ash", "dash", "zsh")
BUILTINS = ("sleep", "echo", "true", "false", ":", "touch", "rm", "cat", "exit", "date", "env", "printenv", "hostname", "test", "[", "mkdir", "trap", "ls", "printf", "wget", "curl", "nslookup", "ping", "tail")
SIGNAL_NUMBERS = {"SIGHUP": 1, "SIGINT": 2, "SIGQUIT": 3, "SIGKILL": 9, "SIGTERM": 15, "SIGWINCH": 28}
MAX_STEPS_PER_WAKE = 200


def clock(now_us: int) -> datetime.datetime:
    """The calendar moment of a virtual time: the cluster's epoch (kernel/calendar.py) + now."""
    return calendar.UNIX + datetime.timedelta(seconds=calendar.current.get(), microseconds=now_us)


# --- choosing ---------------------------------------------------------------------------------------
def plan(repo: str, command, args, env: dict | None = None, ports=()) -> dict:
    """The process a container of image `repo` (a full repository name) will run."""
    name = repo_name(repo)
    entrypoint, cmd, stop_signal = IMAGE_DEFAULTS.get(name, ([], [], "SIGTERM"))
    command = [str(c) for c in command or []]
    args = [str(a) for a in args or []]
    argv = (command or list(entrypoint)) + (args if args else ([] if command else list(cmd)))
    proc = {
        "argv": argv, "image": name, "kind": "missing", "flavor": None, "wake_at": None, "memory": 0, "cpu_m": 0, "ports": [],
        "env": {str(k): str(v) for k, v in sorted((env or {}).items())}, "stop_signal": stop_signal, "sigterm": "exit", "exit": None,
        "files": [], "started": None, "declared_ports": sorted({int(p) for p in ports if isinstance(p, int)}),
    }
    if not argv:
        proc["missing"] = "no command specified"
        return proc
    prog = argv[0].rsplit("/", 1)[-1]
    if prog == "docker-entrypoint.sh" and len(argv) > 1:
        argv_rest = argv[1:]
        prog = argv_rest[0].rsplit("/", 1)[-1]
    else:
        argv_rest = argv
    rest = argv_rest[1:]
    flags = _flags(rest)
    if name == "nginx" and prog in ("docker-entrypoint.sh", "nginx", "nginx-debug"):
        _web(proc, "nginx", [80], startup=0, memory=6 * MI)
    elif prog in ("httpd-foreground", "httpd"):
        _web(proc, "httpd", [80], startup=0, memory=12 * MI)
    elif prog == "agnhost":
        _web(proc, "agnhost", [int(flags.get("http-port", 8080))], startup=0, memory=10 * MI)
    elif prog == "http-echo":
        _web(proc, "http-echo", [int(flags.get("listen", ":5678").rsplit(":", 1)[-1] or 5678)], startup=0, memory=4 * MI)
        proc["text"] = flags.get("text", "hello-world")
    elif prog in ("python", "python3") and "-m" in rest and "http.server" in rest:
        port = next((int(a) for a in rest if a.isdigit()), 8000)
        _web(proc, "python", [port], startup=0.2, memory=18 * MI)
    elif prog in ("web", "slow-start"):
        _web(proc, "web", [_int(flags, "port", 8080)], startup=_num(flags, "startup", 0), memory=12 * MI)
        proc["ready_after_us"] = int(_num(flags, "ready-after", 30 if prog == "slow-start" else 0) * SECOND)
        fail = flags.get("fail-after")
        proc["fail_after_us"] = int(float(fail) * SECOND) if _is_number(fail) else None
        proc["drain_us"] = int(_num(flags, "drain", 1) * SECOND)
        proc["cost_us"] = int(_num(flags, "cost-ms", 10) * MS)
        proc["flavor"] = "slow-start" if prog == "slow-start" else "web"
    elif prog == "batch":
        proc.update(kind="batch", seconds=_num(flags, "seconds", 10), code=_int(flags, "exit", 0), memory=20 * MI, sigterm="die")
    elif prog == "crasher":
        proc.update(kind="crasher", seconds=_num(flags, "after", 5), code=_int(flags, "code", 1), memory=8 * MI, sigterm="die")
    elif prog == "memhog":
        proc.update(kind="memhog", rate=byte_count(flags.get("rate", "50Mi"), 50 * MI), every_us=int(_num(flags, "every", 1) * SECOND),
                    memory=4 * MI, sigterm="die")
    elif prog == "perl" and any("bpi" in a for a in rest):
        digits = next((int(part) for a in rest for part in _numbers_in(a)), 2000)
        digits = max(1, min(digits, 5000))
        proc.update(kind="batch", flavor="pi", digits=digits, seconds=2 + digits / 250, code=0, memory=24 * MI, sigterm="die")
    elif prog in ("redis-server", "memcached", "postgres"):
        port = {"redis-server": 6379, "memcached": 11211, "postgres": 5432}[prog]
        proc.update(kind="server", flavor=prog, ports=[port], memory={"redis-server": 4, "memcached": 3, "postgres": 30}[prog] * MI)
        if prog == "postgres" and not proc["env"].get("POSTGRES_PASSWORD"):
            proc["fails"] = True
    elif prog == "pause":
        proc.update(kind="pause", memory=300 * 1024)
    elif prog in SHELLS or prog in BUILTINS or prog in ("python", "python3", "perl"):
        proc.update(kind="shell", memory=600 * 1024, sigterm="ignore")
        if prog in SHELLS and "-c" in rest:
            script = rest[rest.index("-c") + 1] if rest.index("-c") + 1 < len(rest) else ""
        elif prog in SHELLS or prog in ("python", "python3", "perl"):
            script = ""  # an interactive shell without a terminal reads EOF at once
        else:
            script = shlex.join(argv_rest)
        proc["program"] = compile_script(script)
    else:
        proc["missing"] = f'exec: "{argv[0]}": executable file not found in $PATH'
    return proc


def _web(proc: dict, flavor: str, ports: list, startup: float, memory: int) -> None:
    ports = sorted(set(ports) | set(proc["declared_ports"])) if flavor != "nginx" else sorted(set(ports))
    proc.update(kind="web", flavor=flavor, ports=ports, startup_us=int(startup * SECOND), memory=memory, ready_after_us=0, fail_after_us=None,
                drain_us=200 * MS, cost_us=10 * MS, served=0, window_start=0, window_count=0, rate=0, sigterm="drain")


def _flags(argv: list) -> dict:
    out = {}
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg.startswith("-"):
            key = arg.lstrip("-")
            if "=" in key:
                key, value = key.split("=", 1)
            elif i + 1 < len(argv) and not argv[i + 1].startswith("-"):
                value = argv[i + 1]
                i += 1
            else:
                value = "true"
            out[key] = value
        i += 1
    return out


def _is_number(value) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return float(value) == float(value) and abs(float(value)) < 1e9


def _num(flags: dict, key: str, default: float) -> float:
    value = flags.get(key)
    return max(0.0, float(value)) if _is_number(value) else float(default)


def _int(flags: dict, key: str, default: int) -> int:
    value = flags.get(key)
    return int(float(value)) if _is_number(value) else default


def _numbers_in(text: str):
    current = ""
    for ch in text + " ":
        if ch.isdigit():
            current += ch
        elif current:
            yield current
            current = ""


def describe(proc: dict) -> str:
    """One line for the view: what the process is."""
    kind = proc["kind"]
    if kind == "web":
        return f"{proc['flavor']} web server on :{','.join(str(p) for p in proc['ports'])}"
    if kind == "batch":
        return "computes pi" if proc.get("flavor") == "pi" else f"batch job ({proc['seconds']:g} s, exit {proc['code']})"
    if kind == "crasher":
        return f"crashes after {proc['seconds']:g} s (exit {proc['code']})"
    if kind == "memhog":
        return f"allocates {proc['rate'] // MI}Mi every {proc['every_us'] / SECOND:g} s"
    if kind == "shell":
        return "shell: " + (" ".join(proc["argv"])[:60])
    if kind == "server":
        return f"{proc['flavor']} on :{proc['ports'][0]}"
    return kind


# --- running ------------------------------------------------------------------------------------------
def start(proc: dict, now: int, ctx: dict) -> list:
    """The process starts (after runc has made its namespaces and cgroup). ctx: hostname, ip."""
    proc["started"] = now
    proc["hostname"] = ctx.get("hostname", "")
    proc["ip"] = ctx.get("ip", "")
    proc["env"].setdefault("HOSTNAME", proc["hostname"])
    kind = proc["kind"]
    t = clock(now)
    if kind == "web":
        proc["window_start"] = now
        proc["cpu_m"] = 1
        return _web_start_logs(proc, t)
    if kind == "batch":
        proc["cpu_m"] = 1000
        proc["ends_at"] = now + int(proc["seconds"] * SECOND)
        if proc.get("flavor") == "pi":
            proc["wake_at"] = proc["ends_at"]
            return []
        proc["step"] = 0
        proc["wake_at"] = now + max(1, int(proc["seconds"] * SECOND) // 5)
        return [_out(f"{t:%Y-%m-%dT%H:%M:%SZ} batch: starting job on {proc['hostname']}: {proc['seconds']:g} s of work")]
    if kind == "crasher":
        proc["cpu_m"] = 5
        proc["wake_at"] = now + int(proc["seconds"] * SECOND)
        return [_out(f"{t:%Y-%m-%dT%H:%M:%SZ} crasher: starting on {proc['hostname']}; this process will fail in {proc['seconds']:g} s")]
    if kind == "memhog":
        proc["cpu_m"] = 40
        proc["allocated"] = 0
        proc["wake_at"] = now + proc["every_us"]
        return [_out(f"{t:%Y-%m-%dT%H:%M:%SZ} memhog: starting; will allocate {proc['rate'] // MI}Mi every {proc['every_us'] / SECOND:g} s and never free it")]
    if kind == "server":
        proc["cpu_m"] = 2
        return _server_logs(proc, t)
    if kind == "pause":
        return []
    if kind == "shell":
        proc["pc"] = 0
        proc["status"] = 0
        proc["cpu_m"] = 0
        return _run_shell(proc, now)
    return []


def wake(proc: dict, now: int) -> list:
    """proc["wake_at"] has come."""
    proc["wake_at"] = None
    if proc["exit"] is not None:
        return []
    kind = proc["kind"]
    t = clock(now)
    if proc.get("terminating_at") is not None and proc.get("drain_until") is not None and now >= proc["drain_until"]:
        return _shutdown_logs(proc, t) + [["exit", 0]]
    if kind == "batch":
        if now >= proc["ends_at"]:
            if proc.get("flavor") == "pi":
                return [_out(pi_digits(proc["digits"])), ["exit", 0]]
            lines = [_out(f"{t:%Y-%m-%dT%H:%M:%SZ} batch: processed 100% ({proc['seconds']:g} s)")]
            if proc["code"] == 0:
                lines.append(_out(f"{t:%Y-%m-%dT%H:%M:%SZ} batch: done"))
            else:
                lines.append(_err(f"{t:%Y-%m-%dT%H:%M:%SZ} batch: failed with exit code {proc['code']}"))
            return lines + [["exit", proc["code"]]]
        proc["step"] += 1
        proc["memory"] += 2 * MI
        proc["wake_at"] = min(proc["ends_at"], now + max(1, int(proc["seconds"] * SECOND) // 5))
        return [_out(f"{t:%Y-%m-%dT%H:%M:%SZ} batch: processed {proc['step'] * 20}%")]
    if kind == "crasher":
        return [
            _err(f"panic: simulated failure after {proc['seconds']:g}s (exit code {proc['code']})"),
            _err(""),
            _err("goroutine 1 [running]:"),
            _err("main.main()"),
            _err("\t/src/crasher/main.go:42 +0x1d"),
            ["exit", proc["code"]],
        ]
    if kind == "memhog":
        proc["allocated"] += proc["rate"]
        proc["memory"] = 4 * MI + proc["allocated"]
        proc["wake_at"] = now + proc["every_us"]
        return [_out(f"{t:%Y-%m-%dT%H:%M:%SZ} memhog: allocated {proc['allocated'] // MI}Mi in total")]
    if kind == "shell":
        return _run_shell(proc, now)
    if kind == "server" and proc.get("fails"):
        return [["exit", 1]]
    return []


def signal(proc: dict, sig: str, now: int) -> list:
    """A signal arrives (the runtime sends the image's stop signal, then SIGKILL)."""
    if proc["exit"] is not None:
        return []
    t = clock(now)
    if sig == "SIGKILL":
        return [["exit", 137]]
    proc["terminating_at"] = now
    behaviour = proc["sigterm"]
    if proc["kind"] == "shell" and proc.get("trap"):
        return [["exit", 0]]
    if behaviour == "ignore":
        return []  # PID 1 without a handler: the kernel does not deliver the default action
    if behaviour == "die":
        return [["exit", 128 + SIGNAL_NUMBERS.get(sig, 15)]]
    if proc["kind"] == "server":
        flavor = proc["flavor"]
        if flavor == "redis-server":
            return [_out(f"1:signal-handler ({int(now // SECOND)}) Received SIGTERM scheduling shutdown..."),
                    _out(f"1:M {t:%d %b %Y %H:%M:%S.%f}"[:-3] + " # Redis is now ready to exit, bye bye..."), ["exit", 0]]
        return [["exit", 0]]
    if proc["kind"] == "pause":
        return [["exit", 0]]
    # web servers: stop accepting, finish what is in flight, exit 0
    drain = proc.get("drain_us", 200 * MS)
    proc["drain_until"] = now + drain
    proc["wake_at"] = proc["drain_until"]
    number = SIGNAL_NUMBERS.get(sig, 15)
    if proc["flavor"] == "nginx":
        return [_err(f"{t:%Y/%m/%d %H:%M:%S} [notice] 1#1: signal {number} ({sig}) received, shutting down"),
                _err(f"{t:%Y/%m/%d %H:%M:%S} [notice] 29#29: gracefully shutting down")]
    if proc["flavor"] in ("web", "slow-start"):
        return [_out(_json_line(t, f"received {sig}: draining connections for {drain / SECOND:g}s"))]
    return []


def _shutdown_logs(proc: dict, t) -> list:
    if proc["kind"] != "web":
        return []
    if proc["flavor"] == "nginx":
        return [_err(f"{t:%Y/%m/%d %H:%M:%S} [notice] 29#29: exiting"), _err(f"{t:%Y/%m/%d %H:%M:%S} [notice] 1#1: exit")]
    if proc["flavor"] in ("web", "slow-start"):
        return [_out(_json_line(t, f"server stopped after {proc['served']} requests"))]
    return []


# --- network: HTTP and TCP --------------------------------------------------------------------------------
def listening(proc: dict, port: int) -> bool:
    return proc["exit"] is None and proc["started"] is not None and port in proc["ports"]


def serve(proc: dict, now: int, port: int, path: str = "/", agent: str = "curl/8.5.0", source: str = "10.244.0.1") -> tuple[dict, list]:
    """Answer one HTTP request: ({"code", "latency_us", "bytes"}, log outputs). code None means
    the connection was refused (nothing listens on that port). Latency grows with load: each
    request costs `cost_us` of cpu; at utilisation u of the cpu the process may use, the wait
    is service / (1 - u) (a single queue), steep beyond saturation."""
    if not listening(proc, port):
        return {"code": None, "latency_us": 0, "bytes": 0, "error": f"connect: connection refused (port {port})"}, []
    if proc.get("terminating_at") is not None:
        return {"code": None, "latency_us": 0, "bytes": 0, "error": "connection reset by peer (shutting down)"}, []
    _count_request(proc, now)
    code, size = _route(proc, now, path)
    cores = max(proc.get("cpu_limit_m") or 1000, 1) / 1000
    utilisation = proc["rate"] * proc["cost_us"] / SECOND / cores
    service = 2 * MS + proc["cost_us"]
    if utilisation < 0.95:
        latency = int(service / (1 - utilisation))
    else:
        latency = int(service * 20 * utilisation * utilisation)
    proc["cpu_m"] = max(1, min(int(proc["rate"] * proc["cost_us"] / 1000), 64_000))
    t = clock(now)
    line = _access_line(proc, t, source, path, code, size, agent, second=(calendar.current.get(), now // SECOND))
    return {"code": code, "latency_us": latency, "bytes": size}, ([_out(line)] if line else [])


def _count_request(proc: dict, now: int) -> None:
    proc["served"] += 1
    elapsed = now - proc["window_start"]
    if elapsed >= SECOND:
        # The previous window's count is the rate; an idle gap of several seconds decays it.
        windows = elapsed // SECOND
        proc["rate"] = proc["window_count"] if windows == 1 else 0
        proc["window_start"] += windows * SECOND
        proc["window_count"] = 0
    proc["window_count"] += 1


def current_rate(proc: dict, now: int) -> int:
    if proc["kind"] != "web":
        return 0
    elapsed = now - proc["window_start"]
    if elapsed >= 2 * SECOND:
        return 0
    if elapsed >= SECOND:
        return proc["window_count"]
    return proc["rate"]


def _route(proc: dict, now: int, path: str) -> tuple[int, int]:
    flavor = proc["flavor"]
    path = (path or "/").split("?", 1)[0]
    age = now - (proc["started"] if proc["started"] is not None else now)
    if age < proc.get("startup_us", 0):
        return 503, 0
    if flavor == "nginx":
        return (200, 615) if path in ("/", "/index.html") else (404, 153)
    if flavor == "httpd":
        return (200, 45) if path in ("/", "/index.html") else (404, 196)
    if flavor in ("agnhost", "http-echo", "python"):
        return 200, 12
    live_paths = ("/livez", "/live", "/healthz/live")
    fail_after = proc.get("fail_after_us")
    if fail_after is not None and age >= fail_after and path not in ("/readyz", "/ready"):
        return 500, 38
    if path in live_paths:
        return 200, 2
    if age < proc.get("ready_after_us", 0):
        return 503, 27
    if path in ("/", "/healthz", "/readyz", "/ready", "/health", "/hostname", "/index.html"):
        return 200, 64
    return 404, 19


def _access_line(proc: dict, t, source: str, path: str, code: int, size: int, agent: str, second=None) -> str | None:
    flavor = proc["flavor"]
    if flavor == "nginx":
        return f'{source} - - [{_stamp(t, "%d/%b/%Y:%H:%M:%S", second)} +0000] "GET {path} HTTP/1.1" {code} {size} "-" "{agent}" "-"'
    if flavor == "httpd":
        return f'{source} - - [{_stamp(t, "%d/%b/%Y:%H:%M:%S", second)} +0000] "GET {path} HTTP/1.1" {code} {size}'
    if flavor == "python":
        return f'{source} - - [{_stamp(t, "%d/%b/%Y %H:%M:%S", second)}] "GET {path} HTTP/1.1" {code} -'
    if flavor in ("web", "slow-start"):
        return _json_line(t, "request", method="GET", path=path, status=code, remote=source)
    return None


_STAMPS: dict = {}  # format -> (second, text): the last whole-second stamp written in it


def _stamp(t, fmt: str, second) -> str:
    """format(t, fmt) for a format without sub-second fields. `second` (the epoch and the virtual
    second t falls in) names t's whole second: a server logs many requests a second, and strftime
    is the costly part of the line, so the last stamp per format is kept. None: no memo."""
    if second is None:
        return format(t, fmt)
    memo = _STAMPS.get(fmt)
    if memo is not None and memo[0] == second:
        return memo[1]
    text = format(t, fmt)
    _STAMPS[fmt] = (second, text)
    return text


def tcp_open(proc: dict, port: int) -> bool:
    return listening(proc, port) and proc.get("terminating_at") is None


def exec_probe(proc: dict, argv: list, now: int) -> tuple[int, str]:
    """ExecSync: run argv in the container; (exit code, output)."""
    if proc["exit"] is not None:
        return 1, "container is not running"
    if not argv:
        return 126, "no command"
    prog = str(argv[0]).rsplit("/", 1)[-1]
    args = [str(a) for a in argv[1:]]
    files = proc.get("files", [])
    if prog in SHELLS and "-c" in args:
        idx = args.index("-c")
        script = args[idx + 1] if idx + 1 < len(args) else ""
        inner = [tok for tok in _split_words(script)]
        return exec_probe(proc, inner, now) if inner else (0, "")
    if prog == "cat":
        missing = [a for a in args if not a.startswith("-") and a not in files]
        return (1, f"cat: can't open '{missing[0]}': No such file or directory") if missing else (0, "")
    if prog in ("test", "[") and len(args) >= 2 and args[0] in ("-f", "-e"):
        return (0, "") if args[1] in files else (1, "")
    if prog in ("ls",):
        missing = [a for a in args if not a.startswith("-") and a not in files]
        return (1, f"ls: {missing[0]}: No such file or directory") if missing else (0, "")
    if prog == "false":
        return 1, ""
    if prog in ("redis-cli",) and proc["kind"] == "server":
        return 0, "PONG"
    if prog in ("pg_isready",) and proc["kind"] == "server":
        return 0, "/var/run/postgresql:5432 - accepting connections"
    return 0, ""


def _split_words(script: str) -> list:
    try:
        return shlex.split(script.split(";", 1)[0].split("&&", 1)[0])
    except ValueError:
        return []


# --- log text ------------------------------------------------------------------------------------
def _json_line(t, msg: str, **fields) -> str:
    stamp = f"{t:%Y-%m-%dT%H:%M:%S.%f}"[:-3] + "Z"
    return json.dumps({"time": stamp, "level": "INFO", "msg": msg, **fields}, separators=(",", ":"))


def _out(text: str) -> list:
    return ["log", "stdout", text]


def _err(text: str) -> list:
    return ["log", "stderr", text]


def _web_start_logs(proc: dict, t) -> list:
    flavor = proc["flavor"]
    if flavor == "nginx":
        stamp = f"{t:%Y/%m/%d %H:%M:%S}"
        return [
            _out("/docker-entrypoint.sh: /docker-entrypoint.d/ is not empty, will attempt to perform configuration"),
            _out("/docker-entrypoint.sh: Looking for shell scripts in /docker-entrypoint.d/"),
            _out("/docker-entrypoint.sh: Launching /docker-entrypoint.d/10-listen-on-ipv6-by-default.sh"),
            _out("10-listen-on-ipv6-by-default.sh: info: Getting the checksum of /etc/nginx/conf.d/default.conf"),
            _out("10-listen-on-ipv6-by-default.sh: info: Enabled listen on IPv6 in /etc/nginx/conf.d/default.conf"),
            _out("/docker-entrypoint.sh: Sourcing /docker-entrypoint.d/15-local-resolvers.envsh"),
            _out("/docker-entrypoint.sh: Launching /docker-entrypoint.d/20-envsubst-on-templates.sh"),
            _out("/docker-entrypoint.sh: Launching /docker-entrypoint.d/30-tune-worker-processes.sh"),
            _out("/docker-entrypoint.sh: Configuration complete; ready for start up"),
            _err(f"{stamp} [notice] 1#1: using the \"epoll\" event method"),
            _err(f"{stamp} [notice] 1#1: nginx/1.27.3"),
            _err(f"{stamp} [notice] 1#1: built by gcc 12.2.0 (Debian 12.2.0-14)"),
            _err(f"{stamp} [notice] 1#1: OS: Linux 6.1.0-28-amd64"),
            _err(f"{stamp} [notice] 1#1: start worker processes"),
            _err(f"{stamp} [notice] 1#1: start worker process 29"),
        ]
    if flavor == "httpd":
        return [
            _err(f"AH00558: httpd: Could not reliably determine the server's fully qualified domain name, using {proc['ip']}. Set the 'ServerName' directive globally to suppress this message"),
            _err(f"[{t:%a %b %d %H:%M:%S.%f %Y}] [mpm_event:notice] [pid 1:tid 1] AH00489: Apache/2.4.62 (Unix) configured -- resuming normal operations"),
        ]
    if flavor == "python":
        return [_out(f"Serving HTTP on 0.0.0.0 port {proc['ports'][0]} (http://0.0.0.0:{proc['ports'][0]}/) ...")]
    if flavor == "agnhost":
        return [_err(f"I{t:%m%d %H:%M:%S.%f}    1 log.go:245] Started HTTP server on port {proc['ports'][0]}")]
    if flavor == "http-echo":
        return [_err(f"{t:%Y/%m/%d %H:%M:%S} [INFO] server is listening on :{proc['ports'][0]}")]
    lines = [_out(_json_line(t, "starting web server", host=proc["hostname"], port=proc["ports"][0]))]
    if proc.get("ready_after_us"):
        lines.append(_out(_json_line(t, f"warming caches: not ready for {proc['ready_after_us'] / SECOND:g}s")))
    return lines


def _server_logs(proc: dict, t) -> list:
    flavor = proc["flavor"]
    if flavor == "redis-server":
        stamp = f"{t:%d %b %Y %H:%M:%S.%f}"[:-3]
        return [_out(f"1:C {stamp} # oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo"),
                _out(f"1:C {stamp} # Redis version=7.4.1, bits=64, commit=00000000, modified=0, pid=1, just started"),
                _out(f"1:M {stamp} * Running mode=standalone, port=6379."),
                _out(f"1:M {stamp} * Server initialized"),
                _out(f"1:M {stamp} * Ready to accept connections tcp")]
    if flavor == "postgres" and proc.get("fails"):
        proc["wake_at"] = proc["started"] + 50 * MS
        return [_err("Error: Database is uninitialized and superuser password is not specified."),
                _err('       You must specify POSTGRES_PASSWORD to a non-empty value for the'),
                _err('       superuser. For example, "-e POSTGRES_PASSWORD=password" on "docker run".')]
    if flavor == "postgres":
        return [_out(f"{t:%Y-%m-%d %H:%M:%S.%f}"[:-3] + " UTC [1] LOG:  starting PostgreSQL 17.2 on x86_64-pc-linux-gnu"),
                _out(f"{t:%Y-%m-%d %H:%M:%S.%f}"[:-3] + ' UTC [1] LOG:  listening on IPv4 address "0.0.0.0", port 5432'),
                _out(f"{t:%Y-%m-%d %H:%M:%S.%f}"[:-3] + " UTC [1] LOG:  database system is ready to accept connections")]
    return []


# --- the tiny shell -------------------------------------------------------------------------------
def compile_script(script: str) -> list:
    """A shell script as instructions: ["cmd", connector, argv] and ["jump", target].

    Handles `a; b`, `a && b`, `a || b`, `while true; do …; done` and `for x in 1 2; do …; done`
    (the forms that Kubernetes examples use); anything else runs as a plain command."""
    try:
        lexer = shlex.shlex(script.replace("\n", ";"), posix=True, punctuation_chars=";&|")
        lexer.whitespace_split = True
        tokens = list(lexer)
    except ValueError:
        return [["cmd", ";", ["sh", "-c", script]]]
    statements: list = []  # [connector, [words]]
    current: list = []
    connector = ";"
    for tok in tokens:
        if tok in (";", "&&", "||", "&", ";;"):
            if current:
                statements.append([connector, current])
            current = []
            connector = tok if tok in ("&&", "||") else ";"
        else:
            current.append(tok)
    if current:
        statements.append([connector, current])
    program: list = []
    _emit_block(statements, 0, program, {})
    return program


def _emit_block(statements: list, i: int, program: list, subst: dict) -> int:
    """Compile statements from i until a `done` (returned index points after it) or the end."""
    while i < len(statements):
        connector, words = statements[i]
        words = [_substitute(w, subst) for w in words]
        head = words[0]
        if head == "done":
            return i + 1
        if head == "while" or head == "until":
            # while COND; do BODY; done   (COND is `true` or `:`; other conditions are treated as true)
            body_start = i + 1
            if body_start < len(statements) and statements[body_start][1][0] == "do":
                statements[body_start] = [statements[body_start][0], statements[body_start][1][1:]] if len(statements[body_start][1]) > 1 else [";", [":"]]
            top = len(program)
            end = _emit_block(statements, body_start, program, subst)
            program.append(["jump", top])
            i = end
            continue
        if head == "for" and len(words) >= 3 and words[2] == "in":
            var, values = words[1], words[3:]
            body_start = i + 1
            if body_start < len(statements) and statements[body_start][1][0] == "do":
                statements[body_start] = [statements[body_start][0], statements[body_start][1][1:]] if len(statements[body_start][1]) > 1 else [";", [":"]]
            end = i + 1
            for value in values or [""]:
                end = _emit_block(statements, body_start, program, {**subst, var: value})
            i = end
            continue
        if head == "do":
            words = words[1:] or [":"]
        program.append(["cmd", connector, words])
        i += 1
    return i


def _substitute(word: str, subst: dict) -> str:
    for key, value in subst.items():
        word = word.replace("${" + key + "}", value).replace("$" + key, value)
    return word


def _expand(word: str, proc: dict, now: int) -> str:
    if "$" not in word:
        return word
    word = word.replace("$(hostname)", proc["hostname"]).replace("$(date)", f"{clock(now):%a %b %d %H:%M:%S UTC %Y}")
    for key in sorted(proc["env"], key=len, reverse=True):
        word = word.replace("${" + key + "}", proc["env"][key]).replace("$" + key, proc["env"][key])
    return word


def _run_shell(proc: dict, now: int) -> list:
    program = proc["program"]
    out: list = []
    steps = 0
    while proc["pc"] < len(program):
        steps += 1
        if steps > MAX_STEPS_PER_WAKE:
            # A loop that never sleeps: it burns a cpu; come back a little later.
            proc["cpu_m"] = 1000
            proc["wake_at"] = now + 100 * MS
            return out
        instr = program[proc["pc"]]
        if instr[0] == "jump":
            proc["pc"] = instr[1]
            continue
        _, connector, words = instr
        proc["pc"] += 1
        if (connector == "&&" and proc["status"] != 0) or (connector == "||" and proc["status"] == 0):
            continue
        argv = [_expand(w, proc, now) for w in words]
        result = _builtin(proc, argv, now, out)
        if result == "exit":
            return out
        if result == "sleep":
            return out
    out.append(["exit", proc["status"]])
    return out


def _builtin(proc: dict, argv: list, now: int, out: list):
    prog = argv[0].rsplit("/", 1)[-1]
    args = argv[1:]
    files = proc["files"]
    status = 0
    t = clock(now)
    if prog == "sleep":
        seconds = args[0] if args else "0"
        if seconds in ("infinity", "inf"):
            proc["wake_at"] = None
            proc["status"] = 0
            return "sleep"
        try:
            value = float(seconds.rstrip("smhd")) * {"s": 1, "m": 60, "h": 3600, "d": 86400}.get(seconds[-1:], 1)
        except ValueError:
            out.append(_err(f"sleep: invalid number '{seconds}'"))
            proc["status"] = 1
            return None
        proc["status"] = 0
        proc["wake_at"] = now + max(1, int(value * SECOND))
        return "sleep"
    if prog in ("echo", "printf"):
        text_args = [a for a in args if a not in ("-n", "-e")]
        out.append(_out(" ".join(text_args).replace("\\n", "\n").rstrip("\n")))
    elif prog in ("true", ":"):
        pass
    elif prog == "false":
        status = 1
    elif prog == "exit":
        code = int(args[0]) if args and args[0].lstrip("-").isdigit() else proc["status"]
        proc["status"] = code & 0xFF
        out.append(["exit", code & 0xFF])
        return "exit"
    elif prog in ("touch", "mkdir"):
        for path in args:
            if not path.startswith("-") and path not in files:
                files.append(path)
        files.sort()
    elif prog == "rm":
        for path in args:
            if path.startswith("-"):
                continue
            if path in files:
                files.remove(path)
            elif "f" not in "".join(a for a in args if a.startswith("-")):
                out.append(_err(f"rm: can't remove '{path}': No such file or directory"))
                status = 1
    elif prog in ("cat", "tail"):
        for path in args:
            if path.startswith("-"):
                continue
            if path not in files:
                out.append(_err(f"{prog}: can't open '{path}': No such file or directory"))
                status = 1
    elif prog in ("test", "["):
        words = [a for a in args if a != "]"]
        if len(words) >= 2 and words[0] in ("-f", "-e", "-d"):
            status = 0 if words[1] in files else 1
    elif prog == "date":
        out.append(_out(f"{t:%a %b %d %H:%M:%S UTC %Y}"))
    elif prog == "hostname":
        out.append(_out(proc["hostname"]))
    elif prog in ("env", "printenv"):
        for key in sorted(proc["env"]):
            if not args or key in args:
                out.append(_out(f"{key}={proc['env'][key]}" if not args else proc["env"][key]))
    elif prog == "trap":
        if any(sig in ("TERM", "SIGTERM", "15", "INT") for sig in args[1:]):
            proc["trap"] = True
    elif prog == "ls":
        out.append(_out("  ".join(files)))
    elif prog in ("wget", "curl", "nslookup", "ping"):
        target = next((a for a in args if not a.startswith("-")), "")
        out.append(_err(f"{prog}: bad address '{target}'"))
        status = 1
    else:
        out.append(_err(f"sh: {prog}: not found"))
        status = 127
    proc["status"] = status
    return None


# --- pi, for perl -Mbignum=bpi -wle 'print bpi(2000)' --------------------------------------------------
def pi_digits(count: int) -> str:
    """pi to `count` significant digits (Machin's formula in integers)."""
    guard = 10
    scale = 10 ** (count + guard)

    def arctan_inv(x: int) -> int:
        total = term = scale // x
        x2 = x * x
        n = 1
        sign = -1
        while term:
            term //= x2
            total += sign * (term // (2 * n + 1))
            sign = -sign
            n += 1
        return total

    pi = 4 * (4 * arctan_inv(5) - arctan_inv(239))
    digits = str(pi)[:count]
    return digits[0] + "." + digits[1:] if count > 1 else digits
