"""Podman for the package and container tests: the machine's settings
(packaging/podman/containers.conf unless CONTAINERS_CONF is set), the local base image
(packaging/base-image.sh), containers started detached and removed by name."""
import os
import subprocess
import uuid

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BASE_IMAGE = "localhost/debian:bookworm-slim"
ENV = dict(os.environ)
ENV.setdefault("CONTAINERS_CONF", os.path.join(ROOT, "packaging", "podman", "containers.conf"))


def podman(*args, check=True, timeout=600, input=None):
    r = subprocess.run(["podman", *args], capture_output=True, text=True, env=ENV,
                       timeout=timeout, input=input)
    if check and r.returncode != 0:
        raise AssertionError(f"podman {' '.join(args)}: exit {r.returncode}\n{r.stderr[-4000:]}")
    return r


def base_image():
    subprocess.run([os.path.join(ROOT, "packaging", "base-image.sh")], check=True, env=ENV,
                   timeout=900)
    return BASE_IMAGE


class Container:
    """One detached container; exec runs a shell command in it."""

    def __init__(self, image, *run_args, command=("sleep", "infinity")):
        self.name = "renewlab-test-" + uuid.uuid4().hex[:10]
        podman("run", "-d", "--init", "--name", self.name, *run_args, image, *command)

    def exec(self, script, timeout=600, check=True):
        r = podman("exec", self.name, "bash", "-c", script, check=False, timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError(f"in the container: {script}\nexit {r.returncode}\n"
                                 f"{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
        return r

    def remove(self):
        podman("rm", "-f", "-t", "0", self.name, check=False)
