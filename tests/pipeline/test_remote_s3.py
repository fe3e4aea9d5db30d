"""The S3 remote, exercised with the README's commands against a local S3 server.

The project is copied into a temporary git repository (as the end-to-end test copies
it) with its dvc.yaml cut down to the `cifake` stage, which runs on a sampled CIFAKE
archive (no browser, no network), so that the bare `dvc push` and `dvc pull` cover
every stage there is. The output goes to moto's S3 server on 127.0.0.1, and a
`git clone` of the repository pulls it back byte for byte. Every AWS setting comes from
the test: no AWS config or credential files, fake keys, and a default endpoint that
refuses connections, so only the remote's own `endpointurl` reaches S3 and no request
can reach real AWS.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.helpers import ROOT
from tests.pipeline.test_pipeline_e2e import project_files, small_cifake

BUCKET = "bucket"
KEYS = {"access_key_id": "testing", "secret_access_key": "testing"}


def tool(name: str) -> str:
    return str(Path(os.path.abspath(sys.executable)).parent / name)


def aws_free_env(empty_file: Path) -> dict:
    """This environment without any AWS_* setting, proxy or shared config file."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AWS_") and "proxy" not in k.lower()}  # fmt: skip
    env.update(
        AWS_CONFIG_FILE=str(empty_file),  # botocore refuses /dev/null
        AWS_SHARED_CREDENTIALS_FILE=str(empty_file),
        AWS_DEFAULT_REGION="us-east-1",
        AWS_EC2_METADATA_DISABLED="true",
        # Whatever ignores the remote's endpointurl gets a refused connection, not AWS.
        AWS_ENDPOINT_URL="http://127.0.0.1:9",
        PYTHONPATH="",
        # dvc's stages run `python`: this interpreter's, whatever PATH the suite got.
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t",
        GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@t",
    )  # fmt: skip
    return env


def run(args: list[str], cwd: Path, timeout: float = 300, **env: str) -> str:
    empty = cwd.parent / "aws-empty"
    empty.touch()
    done = subprocess.run(args, cwd=cwd, env={**aws_free_env(empty), **env},
                          capture_output=True, text=True, timeout=timeout, check=False)  # fmt: skip
    assert done.returncode == 0, f"{args} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout + done.stderr


def dvc(*args: str, cwd: Path, **env: str) -> str:
    return run([tool("dvc"), *args], cwd, **env)


def file_hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}  # fmt: skip


@pytest.fixture(scope="module")
def s3_endpoint():
    pytest.importorskip("dvc_s3", reason="needs dvc-s3 (dvc[s3])")
    server_module = pytest.importorskip("moto.server", reason="needs moto[s3,server]")
    boto3 = pytest.importorskip("boto3")
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")  # fmt: skip
        s3.create_bucket(Bucket=BUCKET)
        yield endpoint, s3
    finally:
        server.stop()


@pytest.fixture(scope="module")
def pushed(tmp_path_factory, s3_endpoint):
    """A project that ran `cifake` and pushed it (keys in .dvc/config.local), and a clone
    that pulled it (keys in the environment): the README's two ways."""
    if shutil.which("git") is None:
        pytest.skip("needs git")
    endpoint, _ = s3_endpoint
    dest = tmp_path_factory.mktemp("remote") / "project"
    for name in project_files():
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, dest / name)
    params = yaml.safe_load((dest / "params.yaml").read_text())
    params["cifake"]["source"] = str(small_cifake(dest.parent))
    (dest / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    pipeline = yaml.safe_load((dest / "dvc.yaml").read_text())
    pipeline = {"stages": {"cifake": pipeline["stages"]["cifake"]}}
    (dest / "dvc.yaml").write_text(yaml.safe_dump(pipeline, sort_keys=False))
    run(["git", "init", "-q", "-b", "main"], dest)
    run(["git", "add", "-A"], dest)
    run(["git", "commit", "-qm", "copy"], dest)
    dvc("repro", cwd=dest)
    # The README's commands, in its order.
    dvc("remote", "add", "-d", "store", f"s3://{BUCKET}/realorai", cwd=dest)
    dvc("remote", "modify", "store", "endpointurl", endpoint, cwd=dest)
    for key, value in KEYS.items():
        dvc("remote", "modify", "--local", "store", key, value, cwd=dest)
    run(["git", "add", ".dvc/config", "dvc.lock"], dest)
    run(["git", "commit", "-qm", "cifake ran; S3 remote"], dest)
    dvc("push", cwd=dest)

    clone = dest.parent / "clone"
    run(["git", "clone", "-q", str(dest), str(clone)], dest.parent)
    assert not (clone / "data").exists()
    keys = {f"AWS_{key.upper()}": value for key, value in KEYS.items()}
    dvc("pull", cwd=clone, **keys)
    return dest, clone


def test_the_readme_shows_these_commands():
    text = (ROOT / "README.md").read_text()
    section = text.split("## Beyond one machine", 1)[1].split("\n## ", 1)[0]
    for command in (
        f"dvc remote add -d store s3://{BUCKET}/realorai",
        "dvc remote modify store endpointurl http://",
        *(f"dvc remote modify --local store {key}" for key in KEYS),
        "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "dvc push", "git clone", "dvc pull",
    ):  # fmt: skip
        assert command in section, command


def test_the_remote_is_the_local_s3_server(pushed, s3_endpoint):
    dest, _ = pushed
    _, s3 = s3_endpoint
    config = (dest / ".dvc/config").read_text()
    assert f"url = s3://{BUCKET}/realorai" in config and "endpointurl = http://127.0.0.1:" in config
    assert "testing" not in config  # the keys stay in the untracked config.local
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix="realorai/")
    assert listed.get("KeyCount", 0) >= 2  # the archive, info.json (and the folder's listing)


def test_a_clone_pulls_the_pushed_output_byte_for_byte(pushed):
    dest, clone = pushed
    pushed_files = file_hashes(dest / "data/cifake")
    assert {"cifake.zip", "info.json"} <= set(pushed_files)
    assert file_hashes(clone / "data/cifake") == pushed_files


def test_the_pulled_pipeline_is_up_to_date(pushed):
    _, clone = pushed
    lock = yaml.safe_load((clone / "dvc.lock").read_text())
    assert [o["path"] for o in lock["stages"]["cifake"]["outs"]] == ["data/cifake"]
    assert dvc("status", "--json", cwd=clone).strip() == "{}"  # hashes match dvc.lock
