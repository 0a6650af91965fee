"""The kubelet's pure parts: container behaviour, the state machine, status, logs, SPDY."""

from __future__ import annotations

import zlib
from typing import Any

import pytest

from preview.sandbox.kubelet import logs, spdy
from preview.sandbox.kubelet.behaviour import behaviour, image_id, normalize_image
from preview.sandbox.kubelet.lifecycle import PodState, advance, new_pod_state, next_due, stop
from preview.sandbox.kubelet.status import phase, pod_status, qos_class
from preview.sandbox.kubelet.timings import KubeletTimings
from preview.sandbox.machinery.status import StatusError

T = KubeletTimings()


def pod(*containers: dict[str, Any], policy: str = "Always",
        inits: tuple[dict[str, Any], ...] = ()) -> dict[str, Any]:
    return {"metadata": {"name": "web", "namespace": "ns", "uid": "u1"},
            "spec": {"nodeName": "n1", "restartPolicy": policy,
                     "containers": list(containers), "initContainers": list(inits)}}


def run_until(state: PodState, until: float, images: set[str] | None = None) -> list[str]:
    """Advance the clock from one due time to the next up to `until`; the event reasons."""
    images = set() if images is None else images
    now, reasons = state.created, []
    while True:
        reasons += [e.reason for e in advance(state, now, images, T)]
        due = next_due(state, now, T)
        if due is None or due > until:
            break
        now = due
    reasons += [e.reason for e in advance(state, until, images, T)]
    return reasons


def status_at(p: dict[str, Any], state: PodState, now: float) -> dict[str, Any]:
    return pod_status(p, state, "172.18.0.2", now, T)


def test_behaviour_reads_failure_injection_from_the_spec() -> None:
    assert behaviour({"image": "does-not-exist:1"}, "Always", False, T).pull_fails
    crash = behaviour({"image": "x", "command": ["sh", "-c", "exit 3"]}, "Always", False, T)
    assert (crash.run_for, crash.exit_code) == (T.crash_run, 3)
    assert behaviour({"image": "x", "args": ["sleep", "2"]}, "Never", False, T).run_for == 2.0
    assert behaviour({"image": "x", "args": ["sleep infinity"]}, "Never", False, T).run_for is None
    assert behaviour({"image": "x"}, "Never", False, T).run_for == T.job_run
    assert behaviour({"image": "x"}, "Always", False, T).run_for is None
    assert behaviour({"image": "x"}, "Always", True, T).run_for == T.init_run


def test_images_are_reported_as_containerd_does() -> None:
    assert normalize_image("nginx") == "docker.io/library/nginx:latest"
    assert normalize_image("bitnami/redis:7") == "docker.io/bitnami/redis:7"
    assert normalize_image("ghcr.io/o/app:v1") == "ghcr.io/o/app:v1"
    assert image_id("nginx:1.25").startswith("docker.io/library/nginx@sha256:")


def test_a_plain_container_runs_and_is_ready() -> None:
    p = pod({"name": "app", "image": "nginx:1.25"})
    state = new_pod_state(p, 1000.0, T)
    assert status_at(p, state, 1000.0)["phase"] == "Pending"
    reasons = run_until(state, 1001.0)
    assert reasons == ["Pulling", "Pulled", "Created", "Started"]
    status = status_at(p, state, 1001.0)
    assert status["phase"] == "Running"
    assert status["containerStatuses"][0]["state"]["running"]
    assert status["containerStatuses"][0]["containerID"].startswith("containerd://")
    conditions = {c["type"]: c["status"] for c in status["conditions"]}
    assert conditions == {"PodReadyToStartContainers": "True", "Initialized": "True",
                          "Ready": "True", "ContainersReady": "True", "PodScheduled": "True"}


def test_an_image_already_on_the_node_is_not_pulled_again() -> None:
    p = pod({"name": "app", "image": "nginx:1.25"})
    state = new_pod_state(p, 1000.0, T)
    assert run_until(state, 1001.0, {"nginx:1.25"})[:2] == ["Pulled", "Created"]


def test_readiness_waits_for_the_probe_initial_delay() -> None:
    p = pod({"name": "app", "image": "nginx:1.25",
             "readinessProbe": {"httpGet": {"port": 80}, "initialDelaySeconds": 5}})
    state = new_pod_state(p, 1000.0, T)
    run_until(state, 1001.0)
    status = status_at(p, state, 1001.0)
    assert status["phase"] == "Running"
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "False" and ready["reason"] == "ContainersNotReady"
    assert ready["message"] == "containers with unready status: [app]"
    assert next_due(state, 1001.0, T) == pytest.approx(state.containers[0].runs[0].started + 5)
    assert status_at(p, state, 1006.0)["containerStatuses"][0]["ready"] is True


def test_a_missing_image_backs_off_and_stays_pending() -> None:
    p = pod({"name": "app", "image": "does-not-exist:1"})
    state = new_pod_state(p, 1000.0, T)
    reasons = run_until(state, 1000.0 + T.pull + T.sandbox + 0.01)
    assert reasons[-3:] == ["Pulling", "Failed", "Failed"]
    waiting = status_at(p, state, 1000.1)["containerStatuses"][0]["state"]["waiting"]
    assert waiting["reason"] == "ErrImagePull"
    run_until(state, 1002.0)
    status = status_at(p, state, 1002.0)
    waiting = status["containerStatuses"][0]["state"]["waiting"]
    assert waiting == {"reason": "ImagePullBackOff",
                       "message": 'Back-off pulling image "does-not-exist:1"'}
    assert status["phase"] == "Pending"


def test_exit_1_crash_loops_with_growing_back_off() -> None:
    p = pod({"name": "app", "image": "busybox", "command": ["sh", "-c", "exit 1"]})
    state = new_pod_state(p, 1000.0, T)
    reasons = run_until(state, 1003.0)
    assert "BackOff" in reasons
    c = state.containers[0]
    assert c.restarts >= 3
    status = status_at(p, state, 1003.0)
    assert status["phase"] == "Running"  # restartPolicy Always: a crash-looping pod runs
    cs = status["containerStatuses"][0]
    assert cs["restartCount"] == c.restarts
    if "waiting" in cs["state"]:
        assert cs["state"]["waiting"]["reason"] == "CrashLoopBackOff"
        assert "restarting failed container=app pod=web_ns(u1)" in \
            cs["state"]["waiting"]["message"]
    assert cs["lastState"]["terminated"]["exitCode"] == 1
    assert cs["lastState"]["terminated"]["reason"] == "Error"


@pytest.mark.parametrize(("command", "policy", "expected", "restarts"), [
    ([], "Never", "Succeeded", 0),
    (["sh", "-c", "exit 0"], "OnFailure", "Succeeded", 0),
    (["sh", "-c", "exit 2"], "Never", "Failed", 0),
])
def test_job_pods_complete(command: list[str], policy: str, expected: str,
                           restarts: int) -> None:
    p = pod({"name": "job", "image": "busybox", "command": command}, policy=policy)
    state = new_pod_state(p, 1000.0, T)
    run_until(state, 1002.0)
    status = status_at(p, state, 1002.0)
    assert status["phase"] == expected
    cs = status["containerStatuses"][0]
    assert cs["restartCount"] == restarts
    assert cs["state"]["terminated"]["reason"] == ("Completed" if expected == "Succeeded"
                                                   else "Error")
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert ready["reason"] == "PodCompleted"


def test_on_failure_restarts_a_failing_container() -> None:
    p = pod({"name": "job", "image": "busybox", "command": ["sh", "-c", "exit 1"]},
            policy="OnFailure")
    state = new_pod_state(p, 1000.0, T)
    run_until(state, 1002.0)
    assert state.containers[0].restarts >= 1
    assert phase(state) == "Running"


def test_init_containers_run_first_in_order() -> None:
    p = pod({"name": "app", "image": "nginx"},
            inits=({"name": "one", "image": "busybox"}, {"name": "two", "image": "busybox"}))
    state = new_pod_state(p, 1000.0, T)
    advance(state, 1000.0 + T.sandbox, set(), T)
    status = status_at(p, state, 1000.0 + T.sandbox)
    assert status["containerStatuses"][0]["state"]["waiting"]["reason"] == "PodInitializing"
    initialized = next(c for c in status["conditions"] if c["type"] == "Initialized")
    assert initialized["message"] == "containers with incomplete status: [one two]"
    assert status["initContainerStatuses"][1]["state"]["waiting"]["reason"] == \
        "ContainerCreating"
    run_until(state, 1002.0)
    status = status_at(p, state, 1002.0)
    first, second = (s["state"]["terminated"] for s in status["initContainerStatuses"])
    assert first["finishedAt"] <= second["startedAt"]
    assert status["phase"] == "Running"


def test_a_failing_init_container_fails_a_never_pod() -> None:
    p = pod({"name": "app", "image": "nginx"}, policy="Never",
            inits=({"name": "setup", "image": "busybox", "command": ["sh", "-c", "exit 1"]},))
    state = new_pod_state(p, 1000.0, T)
    run_until(state, 1002.0)
    assert phase(state) == "Failed"


def test_stop_kills_running_containers() -> None:
    p = pod({"name": "app", "image": "nginx"})
    state = new_pod_state(p, 1000.0, T)
    run_until(state, 1001.0)
    events = stop(state, 1002.0)
    assert [(e.reason, e.message) for e in events] == [("Killing", "Stopping container app")]
    assert next_due(state, 1002.0, T) is None


def test_qos_class() -> None:
    both = {"cpu": "1", "memory": "1Gi"}
    assert qos_class({"containers": [{"name": "a"}]}) == "BestEffort"
    assert qos_class({"containers": [{"resources": {"limits": both}}]}) == "Guaranteed"
    assert qos_class({"containers": [{"resources": {"requests": {"cpu": "1"}}}]}) == "Burstable"


def test_log_options_and_errors() -> None:
    opts = logs.parse_options({"tailLines": "2", "timestamps": "true", "follow": "1"}, 100.0)
    assert (opts.tail_lines, opts.timestamps, opts.follow) == (2, True, True)
    assert logs.parse_options({"sinceSeconds": "10"}, 100.0).since == 90.0
    with pytest.raises(StatusError) as e:
        logs.choose_container(pod({"name": "a", "image": "x"}, {"name": "b", "image": "x"}), "")
    assert e.value.message == "a container name must be specified for pod web, choose one of: [a b]"
    with pytest.raises(StatusError) as e:
        logs.choose_container(pod({"name": "a", "image": "x"}), "zzz")
    assert e.value.message == "container zzz is not valid for pod web"


def test_logs_of_a_crashed_container_and_its_previous_run() -> None:
    p = pod({"name": "app", "image": "busybox", "command": ["sh", "-c", "exit 4"]})
    state = new_pod_state(p, 1000.0, T)
    run_until(state, 1001.0)
    c = state.containers[0]
    run = logs.choose_run(state, c, previous=True)
    lines = [line for _, line in logs.simulated_lines(c, run, 1001.0, T)]
    assert lines[0].startswith("[sandbox] container app started from image busybox")
    assert lines[-1] == "[sandbox] process exited with code 4"
    rendered = logs.render(logs.select(
        logs.simulated_lines(c, run, 1001.0, T), logs.LogOptions(tail_lines=1)), True)
    assert rendered.endswith(b"Z [sandbox] process exited with code 4\n")


def test_logs_of_a_waiting_container_are_refused() -> None:
    p = pod({"name": "app", "image": "does-not-exist"})
    state = new_pod_state(p, 1000.0, T)
    run_until(state, 1000.5)
    with pytest.raises(StatusError) as e:
        logs.choose_run(state, state.containers[0], previous=False)
    assert e.value.message == ('container "app" in pod "web" is waiting to start: trying and '
                               "failing to pull image")


def test_spdy_header_blocks_round_trip_through_the_dictionary() -> None:
    assert len(spdy.DICTIONARY) == 1423  # the size of the SPDY/3 dictionary
    client = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, 15, 8,
                              zlib.Z_DEFAULT_STRATEGY, spdy.DICTIONARY)
    headers = {"streamtype": "data", "port": "80", "requestid": "0"}
    raw = len(headers).to_bytes(4, "big") + b"".join(
        len(k).to_bytes(4, "big") + k.encode() + len(v).to_bytes(4, "big") + v.encode()
        for k, v in headers.items())
    block = client.compress(raw) + client.flush(zlib.Z_SYNC_FLUSH)
    body = (1).to_bytes(4, "big") + (0).to_bytes(4, "big") + b"\x00\x00" + block
    frame = (0x8003).to_bytes(2, "big") + (1).to_bytes(2, "big") + len(body).to_bytes(4, "big")
    codec = spdy.Codec()
    parsed = codec.feed(frame + body + spdy.data(1, b"hello", fin=True))
    assert parsed[0].kind == spdy.SYN_STREAM and parsed[0].headers == headers
    assert (parsed[1].payload, parsed[1].fin) == (b"hello", True)
    reply = spdy.Codec().feed(codec.syn_reply(1))
    assert reply[0].kind == spdy.SYN_REPLY and reply[0].stream_id == 1
