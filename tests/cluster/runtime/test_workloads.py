"""The simulated programs: chosen by image and command, their logs, exits and probes."""

from cluster.workloads import catalogue as programs

SECOND = 1_000_000


def run(repo, command=None, args=None, env=None, until=60):
    proc = programs.plan(repo, command, args, env or {})
    outputs = programs.start(proc, 0, {"hostname": "pod-1", "ip": "10.244.1.5"})
    exits = [o for o in outputs if o[0] == "exit"]
    while not exits and proc["wake_at"] is not None and proc["wake_at"] <= until * SECOND:
        out = programs.wake(proc, proc["wake_at"])
        outputs += out
        exits = [o for o in out if o[0] == "exit"]
    lines = [o[2] for o in outputs if o[0] == "log"]
    return proc, lines, exits[0][1] if exits else None


def test_images_choose_their_programs():
    assert programs.plan("docker.io/library/nginx", None, None)["kind"] == "web"
    assert programs.plan("docker.io/library/redis", None, None)["ports"] == [6379]
    assert programs.plan("docker.io/library/python", ["python", "-m", "http.server", "9000"], None)["ports"] == [9000]
    assert programs.plan("docker.io/clusterscope/batch", None, ["--seconds=3"])["kind"] == "batch"
    assert programs.plan("docker.io/library/busybox", ["nope"], None)["missing"].startswith('exec: "nope"')


def test_busybox_without_a_command_exits_zero_at_once():
    _proc, lines, code = run("docker.io/library/busybox")
    assert (lines, code) == ([], 0)


def test_shell_scripts_run_with_sleeps_loops_and_exit_codes():
    _proc, lines, code = run("docker.io/library/busybox", ["sh", "-c", "for i in 1 2 3; do echo $i; sleep 1; done; false || echo recovered; exit 4"])
    assert lines == ["1", "2", "3", "recovered"] and code == 4
    proc, lines, code = run("docker.io/library/busybox", ["sh", "-c", "while true; do echo hi $HOSTNAME; sleep 5; done"], until=12)
    assert lines == ["hi pod-1"] * 3 and code is None
    assert programs.signal(proc, "SIGTERM", 13 * SECOND) == []  # PID 1 without a trap ignores SIGTERM
    assert programs.signal(proc, "SIGKILL", 14 * SECOND) == [["exit", 137]]
    trapped, _lines, _code = run("docker.io/library/busybox", ["sh", "-c", "trap 'exit 0' TERM; sleep 100"], until=1)
    assert programs.signal(trapped, "SIGTERM", SECOND) == [["exit", 0]]


def test_batch_crasher_and_pi():
    _proc, lines, code = run("docker.io/clusterscope/batch", None, ["--seconds=5", "--exit=2"])
    assert code == 2 and lines[0].endswith("5 s of work") and lines[-1].endswith("failed with exit code 2")
    proc, lines, code = run("docker.io/clusterscope/crasher", None, ["--after=3"])
    assert code == 1 and lines[1].startswith("panic: simulated failure after 3s")
    _proc, lines, code = run("docker.io/library/perl", ["perl", "-Mbignum=bpi", "-wle", "print bpi(30)"])
    assert code == 0 and lines == ["3.14159265358979323846264338327"]


def test_postgres_needs_a_password():
    _proc, lines, code = run("docker.io/library/postgres")
    assert code == 1 and lines[0].startswith("Error: Database is uninitialized")
    _proc, _lines, code = run("docker.io/library/postgres", env={"POSTGRES_PASSWORD": "x"})
    assert code is None


def test_exec_probe_sees_the_files_the_script_made():
    proc, _lines, _code = run("docker.io/library/busybox", ["sh", "-c", "touch /tmp/healthy; sleep 30; rm -f /tmp/healthy; sleep 600"], until=1)
    assert programs.exec_probe(proc, ["cat", "/tmp/healthy"], SECOND) == (0, "")
    programs.wake(proc, 30 * SECOND)
    assert programs.exec_probe(proc, ["cat", "/tmp/healthy"], 31 * SECOND) == (1, "cat: can't open '/tmp/healthy': No such file or directory")


def test_web_readiness_liveness_and_logs():
    proc, lines, _ = run("docker.io/clusterscope/slow-start", None, ["--ready-after=20", "--fail-after=40"], until=0)
    assert "warming caches" in lines[-1]
    assert programs.serve(proc, 5 * SECOND, 8080, "/readyz")[0]["code"] == 503
    assert programs.serve(proc, 5 * SECOND, 8080, "/livez")[0]["code"] == 200
    assert programs.serve(proc, 21 * SECOND, 8080, "/readyz")[0]["code"] == 200
    assert programs.serve(proc, 41 * SECOND, 8080, "/healthz")[0]["code"] == 500
    result, out = programs.serve(proc, 41 * SECOND, 8080, "/readyz", agent="kube-probe/1.32")
    assert '"path":"/readyz"' in out[0][2]
    assert programs.serve(proc, 41 * SECOND, 9090, "/")[0]["code"] is None
    nginx, lines, _ = run("docker.io/library/nginx", until=0)
    assert lines[-1].endswith("start worker process 29")
    _r, out = programs.serve(nginx, SECOND, 80, "/", agent="kube-probe/1.32", source="10.244.1.1")
    assert out[0][2] == '10.244.1.1 - - [01/Jan/2026:00:00:01 +0000] "GET / HTTP/1.1" 200 615 "-" "kube-probe/1.32" "-"'
    assert programs.serve(nginx, SECOND, 80, "/healthz")[0]["code"] == 404
