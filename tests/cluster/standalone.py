"""A real Spark standalone cluster on this machine whose executors cannot read the driver's files.

pyspark's own ``bin/spark-class`` runs one master and N workers on the loopback interface. The master and the
workers run as another OS user (:data:`WORKER_USER`), each worker with its own work and temp folders, so what
their executors can read is what a real cluster's executors can read:

* the driver's private files (anything under pytest's ``tmp_path``, which lives in a 0700 folder of root's)
  are out of their reach, as a laptop's disk is out of a cluster's reach;
* :attr:`StandaloneCluster.shared` is the shared storage (HDFS, S3, DBFS on a real cluster): readable and
  writable by the driver and the executors alike (a default ACL keeps every file created there open to both);
* the Python environment is the driver's venv, installed in a place every machine can read, as an image or a
  bootstrap script installs it on a real cluster; the driver names it with ``spark.pyspark.python``.

Drivers run as separate processes (``python job.py``), as a user runs ``spark-submit``: a pytest process holds
one local SparkContext already, and a JVM cannot hold two.

Used by the tests in this folder (fixture ``cluster`` in conftest.py) and by ``benchmarks/bench_inference.py
--cluster``.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

WORKER_USER = os.environ.get("SPARKTAG_TEST_WORKER_USER", "sparkworker")
SHARED_UMASK_CONF = "spark.hadoop.fs.permissions.umask-mode=000"


class ClusterUnavailableError(RuntimeError):
    """This machine cannot run the cluster (not root, no other user, no ACL tools); the message says why."""


def free_port() -> int:
    return free_ports(1)[0]


def free_ports(n: int) -> list[int]:
    """``n`` distinct free ports on the loopback, below the kernel's ephemeral range.

    The daemons bind them seconds later (a JVM's start-up). A port from the ephemeral range could meanwhile be
    handed to any process's port-0 bind (a worker's RPC endpoint, a driver), and ports picked one at a time
    could repeat; ports held open together and taken from below that range cannot.
    """
    low = 32768
    with contextlib.suppress(OSError, ValueError):
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    rng = random.Random()
    held: list[socket.socket] = []
    try:
        while len(held) < n:
            s = socket.socket()
            try:
                s.bind(("127.0.0.1", rng.randrange(max(1024, low - 12000), low)))
            except OSError:
                s.close()
                continue
            held.append(s)
        return [int(s.getsockname()[1]) for s in held]
    finally:
        for s in held:
            s.close()


def spark_home() -> Path:
    import pyspark

    return Path(pyspark.__file__).resolve().parent


def ensure_worker_user(name: str = WORKER_USER) -> pwd.struct_passwd:
    """The OS user the cluster runs as, created (as a system user with a home) if missing; needs root."""
    with contextlib.suppress(KeyError):
        return pwd.getpwnam(name)
    if os.geteuid() != 0:
        raise ClusterUnavailableError(f"user {name!r} does not exist and only root can create it")
    useradd = shutil.which("useradd") or "/usr/sbin/useradd"
    subprocess.run(
        [
            useradd,
            "--system",
            "--create-home",
            "--home-dir",
            f"/var/lib/{name}",
            "--shell",
            "/usr/sbin/nologin",
            name,
        ],
        check=True,
        capture_output=True,
    )
    return pwd.getpwnam(name)


def make_shared_folder(parent: str | None = None) -> Path:
    """A folder both the driver and the cluster's user can read and write, whatever their umask."""
    setfacl = shutil.which("setfacl")
    if setfacl is None:
        raise ClusterUnavailableError("setfacl is missing: install Debian's `acl` package (.ci/run does)")
    path = Path(tempfile.mkdtemp(prefix="sparktag-shared-", dir=parent))
    path.chmod(0o777)
    subprocess.run([setfacl, "-m", "u::rwx,g::rwx,o::rwx,d:u::rwx,d:g::rwx,d:o::rwx", str(path)], check=True)
    return path


def _readable_by(path: Path, user: str) -> bool:
    result = subprocess.run(["runuser", "-u", user, "--", "test", "-r", str(path)], capture_output=True)
    return result.returncode == 0


def make_cluster_python(folder: Path, user: str = WORKER_USER) -> str:
    """The Python environment the executors run: this environment's packages on an interpreter every node has.

    A cluster's executors cannot run the driver's interpreter when it lives in the driver's home (pyenv here,
    a laptop's conda elsewhere): each node needs a Python of the same minor version, installed where it can
    read it, with the same packages. Here that is Debian's ``python3.X`` in a venv of its own whose site path
    holds this environment's site-packages (the same packages on every node, as a cluster image or an NFS
    mounted environment gives them). If the cluster user cannot read those, they are installed into the venv
    from this environment's ``pip freeze`` instead (slower, the same versions).

    Returns the path of that venv's ``python``, for ``spark.pyspark.python`` / ``PYSPARK_PYTHON``.
    """
    import site
    import sysconfig

    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    base = shutil.which(f"python{version}", path="/usr/bin:/usr/local/bin")
    if base is None or not _readable_by(Path(base), user):
        raise ClusterUnavailableError(
            f"no python{version} the cluster user {user!r} can run in /usr/bin or /usr/local/bin"
        )
    subprocess.run([base, "-m", "venv", "--without-pip", str(folder)], check=True, capture_output=True)
    purelib = Path(sysconfig.get_paths(vars={"base": str(folder), "platbase": str(folder)})["purelib"])
    here = [Path(p) for p in site.getsitepackages() if Path(p).is_dir()]
    if all(_readable_by(p, user) for p in here):
        # addsitedir, not a plain path line: the editable install's own .pth files must be read too
        lines = "".join(f"import site; site.addsitedir({str(p)!r})\n" for p in here)
        (purelib / "sparktag-cluster.pth").write_text(lines)
    else:
        frozen = subprocess.run([sys.executable, "-m", "pip", "freeze", "--exclude-editable"], check=True,
                                capture_output=True, text=True).stdout  # fmt: skip
        (folder / "requirements.txt").write_text(frozen)
        subprocess.run([str(folder / "bin" / "python"), "-m", "ensurepip"], check=True, capture_output=True)
        pip = [str(folder / "bin" / "python"), "-m", "pip", "install", "-q"]
        subprocess.run([*pip, "--no-deps", "-r", str(folder / "requirements.txt")], check=True)
        subprocess.run([*pip, "--no-deps", str(Path(__file__).resolve().parents[2])], check=True)
    for path in [folder, *folder.rglob("*")]:
        path.chmod(path.stat().st_mode | 0o055 if path.is_dir() else path.stat().st_mode | 0o044)
    return str(folder / "bin" / "python")


@dataclass
class Worker:
    index: int
    folder: Path
    webui_port: int
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def log(self) -> Path:
        return self.folder / "worker.log"


@dataclass
class StandaloneCluster:
    """A running master and workers; :meth:`start` and :meth:`stop` (or use it as a context manager)."""

    root: Path  # the cluster's own folders (owned by the cluster user; logs, work dirs, temp)
    shared: Path
    workers: list[Worker] = field(default_factory=list)
    master_port: int = 0
    master_webui_port: int = 0
    user: str = WORKER_USER
    cores_per_worker: int = 1
    memory_per_worker: str = "2g"
    python: str = ""  # the executors' Python (see make_cluster_python)
    # the tests' executors live a job long: C1 only, as every test JVM (a benchmark sets "" for the default JIT)
    executor_java_options: str = "-XX:TieredStopAtLevel=1"
    _master: subprocess.Popen[bytes] | None = None

    @property
    def master_url(self) -> str:
        return f"spark://127.0.0.1:{self.master_port}"

    # -- processes ------------------------------------------------------------------------------------
    def _env(self, folder: Path) -> dict[str, str]:
        account = pwd.getpwnam(self.user)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": account.pw_dir,
            "USER": self.user,
            "LANG": "C.UTF-8",
            "SPARK_HOME": str(spark_home()),
            "SPARK_LOCAL_IP": "127.0.0.1",
            "SPARK_LOCAL_DIRS": str(folder / "tmp"),
            "SPARK_WORKER_DIR": str(folder / "work"),
            "SPARK_LOG_DIR": str(folder),
            "TMPDIR": str(folder / "tmp"),
            # the cluster's JVMs run for minutes on two cores: C1 only, as the test drivers do; a daemon whose
            # port is taken fails instead of quietly moving to the next port (where the tests would not look);
            # no REST submission server (its fixed port 6066 is one more to collide on; drivers use spark://)
            "SPARK_DAEMON_JAVA_OPTS": (
                "-XX:TieredStopAtLevel=1 -Dspark.port.maxRetries=0 -Dspark.master.rest.enabled=false"
            ),
            "HF_HUB_OFFLINE": "1",
        }
        if "JAVA_HOME" in os.environ:
            env["JAVA_HOME"] = os.environ["JAVA_HOME"]
        return env

    def _spawn(self, folder: Path, main_class: str, *args: str) -> subprocess.Popen[bytes]:
        account = pwd.getpwnam(self.user)
        for sub in ("tmp", "work"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        for path in (folder, folder / "tmp", folder / "work"):
            os.chown(path, account.pw_uid, account.pw_gid)
            path.chmod(0o700)  # each worker's disk is its own: neither the driver's nor the other worker's
        log = open(folder / f"{main_class.rsplit('.', 1)[-1].lower()}.log", "ab")  # noqa: SIM115
        with log:
            return subprocess.Popen(
                [str(spark_home() / "bin" / "spark-class"), main_class, *args],
                cwd=folder,
                env=self._env(folder),
                user=account.pw_uid,
                group=account.pw_gid,
                extra_groups=[],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: a kill takes the worker's executors too
            )

    def start(self, n_workers: int = 2, timeout_s: float = 120.0) -> StandaloneCluster:
        ensure_worker_user(self.user)
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o755)
        if not self.python:
            self.python = make_cluster_python(self.root / "python", self.user)
        ports = free_ports(2 + 2 * n_workers)
        self.master_port, self.master_webui_port = ports[0], ports[1]
        self._master = self._spawn(
            self.root / "master",
            "org.apache.spark.deploy.master.Master",
            "--host", "127.0.0.1", "--port", str(self.master_port), "--webui-port", str(self.master_webui_port),
        )  # fmt: skip
        for i in range(n_workers):
            self.workers.append(Worker(i, self.root / f"worker{i}", ports[2 + 2 * i], ports[3 + 2 * i]))
            self.start_worker(i, wait=False)
        self.wait_for_workers(n_workers, timeout_s)
        return self

    def start_worker(self, index: int, wait: bool = True, timeout_s: float = 120.0) -> None:
        worker = self.workers[index]
        worker.process = self._spawn(
            worker.folder,
            "org.apache.spark.deploy.worker.Worker",
            "--host", "127.0.0.1", "--port", str(worker.port),
            "--cores", str(self.cores_per_worker), "--memory", self.memory_per_worker,
            "--webui-port", str(worker.webui_port), "--work-dir", str(worker.folder / "work"), self.master_url,
        )  # fmt: skip
        if wait:
            self.wait_for_workers(sum(1 for w in self.workers if _running(w.process)), timeout_s)

    def kill_worker(self, index: int) -> None:
        """SIGKILL a worker and every process it started (its executor JVM and their Python workers).

        pyspark's Python daemon puts itself in a process group of its own, so the worker's group is not
        enough: every process working in the worker's folder (the executor's Python daemon and workers) is
        killed with it, as a machine that dies takes them all.
        """
        worker = self.workers[index]
        process = worker.process
        if process is None:
            return
        others = _processes_under(worker.folder)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        for pid in others:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        process.wait(timeout=30)

    def stop(self) -> None:
        for worker in self.workers:
            self.kill_worker(worker.index)
        if self._master is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._master.pid, signal.SIGKILL)
            self._master.wait(timeout=30)

    def __enter__(self) -> StandaloneCluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- state ----------------------------------------------------------------------------------------
    def state(self) -> dict:
        """The master's JSON status page (workers, applications)."""
        url = f"http://127.0.0.1:{self.master_webui_port}/json/"
        with urllib.request.urlopen(url, timeout=5) as r:
            body = r.read()
        try:
            state = json.loads(body)
        except ValueError:
            state = None
        if not isinstance(state, dict) or "aliveworkers" not in state:
            raise RuntimeError(
                f"{url} is not the Spark master's status page (another process holds that port?): "
                f"{body[:200]!r}\n{self.logs()}"
            )
        return state

    def wait_for_workers(self, n: int, timeout_s: float = 120.0) -> None:
        deadline = time.monotonic() + timeout_s
        last: object = None
        while time.monotonic() < deadline:
            if self._master is not None and self._master.poll() is not None:
                raise RuntimeError(f"the Spark master exited: {self.logs()}")
            try:
                alive = self.state().get("aliveworkers", 0)
                if alive >= n:
                    return
                last = f"{alive} of {n} workers alive"
            except OSError as err:
                last = err
            time.sleep(0.5)
        raise TimeoutError(f"standalone cluster not ready after {timeout_s:.0f} s ({last}): {self.logs()}")

    def logs(self, tail: int = 40) -> str:
        """The last lines of every master and worker log, for failure messages."""
        parts = []
        for log in sorted(self.root.glob("*/*.log")):
            lines = log.read_text(errors="replace").splitlines()[-tail:]
            parts.append(f"--- {log}\n" + "\n".join(lines))
        return "\n".join(parts)

    # -- drivers ----------------------------------------------------------------------------------------
    def driver_env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        """The environment of a driver process on this cluster: sparktag.start() reads SPARK_MASTER."""
        env = dict(os.environ)
        # What a user of a cluster sets: the master, the Python every node has, and (for a shared POSIX folder
        # written by two OS users, unlike HDFS or S3 where driver and executors are one identity) a Hadoop
        # umask that leaves the folders Spark creates writable by both.
        submit = env.get("PYSPARK_SUBMIT_ARGS", "pyspark-shell").removesuffix("pyspark-shell").strip()
        confs = f"--conf {SHARED_UMASK_CONF}"
        if self.executor_java_options:
            confs += f" --conf spark.executor.extraJavaOptions={self.executor_java_options}"
        env.update(
            {
                "SPARK_MASTER": self.master_url,
                "PYSPARK_PYTHON": self.python,
                "PYSPARK_SUBMIT_ARGS": f"{submit} {confs} pyspark-shell".lstrip(),
            }
        )
        env.update(extra or {})
        return env

    def start_driver(
        self, args: Sequence[str], *, cwd: Path, env: dict[str, str] | None = None
    ) -> subprocess.Popen[str]:
        """Start ``python ARGS...`` as a driver of this cluster and return at once (output piped)."""
        return subprocess.Popen(
            [sys.executable, *args],
            cwd=cwd,
            env=self.driver_env(env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def run_driver(
        self, args: Sequence[str], *, cwd: Path, timeout_s: float = 600.0, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run ``python ARGS...`` as a driver of this cluster; raises with its output (and the cluster's logs)
        if it fails."""
        result = subprocess.run(
            [sys.executable, *args],
            cwd=cwd,
            env=self.driver_env(env),
            capture_output=True,
            text=True,
            timeout=timeout_s,
        )
        if result.returncode != 0:
            raise AssertionError(
                f"driver {' '.join(args)} exited {result.returncode}\n--- stdout\n{result.stdout[-4000:]}\n"
                f"--- stderr\n{result.stderr[-8000:]}\n{self.logs()}"
            )
        return result


def _processes_under(folder: Path) -> list[int]:
    """Ids of the processes whose working folder is ``folder`` or below it (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            cwd = os.readlink(entry / "cwd")
            if cwd == str(folder) or cwd.startswith(str(folder) + "/"):
                found.append(int(entry.name))
    return found


def _running(process: subprocess.Popen[bytes] | None) -> bool:
    return process is not None and process.poll() is None


@contextlib.contextmanager
def standalone_cluster(n_workers: int = 2) -> Iterator[StandaloneCluster]:
    """Start a cluster in fresh folders, yield it, stop it and remove its folders."""
    root = Path(tempfile.mkdtemp(prefix="sparktag-cluster-"))
    shared = make_shared_folder()
    cluster = StandaloneCluster(root=root, shared=shared)
    try:
        cluster.start(n_workers)
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(shared, ignore_errors=True)
