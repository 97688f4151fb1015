"""Fixtures for lake tests: a filesystem that counts what it opens or fails on cue, and a
real S3-protocol server (moto's) on 127.0.0.1."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pyarrow.fs as pafs
import pytest


class Recording(pafs.FileSystemHandler):
    """Delegates to a real filesystem; records the files opened for reading, and raises
    after ``fail_after`` writes, moves or deletes (a crash at that point)."""

    def __init__(self, fs: pafs.FileSystem) -> None:
        self.fs = fs
        self.opened: list[str] = []
        self.changes = 0
        self.fail_after: int | None = None

    def _change(self) -> None:
        if self.fail_after is not None and self.changes >= self.fail_after:
            raise OSError("injected crash")
        self.changes += 1

    def __eq__(self, other: object) -> bool:
        return other is self

    def __ne__(self, other: object) -> bool:
        return other is not self

    def get_type_name(self) -> str:
        return "recording"

    def normalize_path(self, path: str) -> str:
        return path

    def get_file_info(self, paths: Any) -> Any:
        return self.fs.get_file_info(paths)

    def get_file_info_selector(self, selector: Any) -> Any:
        return self.fs.get_file_info(selector)

    def create_dir(self, path: str, recursive: bool) -> None:
        self.fs.create_dir(path, recursive=recursive)

    def delete_dir(self, path: str) -> None:
        self._change()
        self.fs.delete_dir(path)

    def delete_dir_contents(self, path: str, missing_dir_ok: bool = False) -> None:
        self._change()
        self.fs.delete_dir_contents(path, missing_dir_ok=missing_dir_ok)

    def delete_root_dir_contents(self) -> None:
        raise OSError("not here")

    def delete_file(self, path: str) -> None:
        self._change()
        self.fs.delete_file(path)

    def move(self, src: str, dest: str) -> None:
        self._change()
        self.fs.move(src, dest)

    def copy_file(self, src: str, dest: str) -> None:
        self._change()
        self.fs.copy_file(src, dest)

    def open_input_stream(self, path: str) -> Any:
        self.opened.append(path)
        return self.fs.open_input_stream(path)

    def open_input_file(self, path: str) -> Any:
        self.opened.append(path)
        return self.fs.open_input_file(path)

    def open_output_stream(self, path: str, metadata: Any) -> Any:
        self._change()
        return self.fs.open_output_stream(path)

    def open_append_stream(self, path: str, metadata: Any) -> Any:
        raise OSError("not here")


def recording(fs: pafs.FileSystem | None = None) -> tuple[pafs.PyFileSystem, Recording]:
    """A filesystem over ``fs`` (the local disk by default) and its recorder."""
    handler = Recording(fs or pafs.LocalFileSystem())
    return pafs.PyFileSystem(handler), handler


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """moto's standalone S3 server on 127.0.0.1; its endpoint URL."""
    pytest.importorskip("moto.server", reason="moto[server] is in the test extra: pip install -e '.[test]'")
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError("moto's S3 server did not start") from None
            time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(10)


@pytest.fixture
def s3_lake(s3_server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh bucket on the S3 server, with the AWS variables set to reach it; its s3:// URI."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server)
    bucket = f"lake-{uuid.uuid4().hex[:10]}"
    fs = pafs.S3FileSystem(access_key="testing", secret_key="testing", region="us-east-1",
                           endpoint_override=s3_server.split("://")[1], scheme="http",
                           allow_bucket_creation=True)
    fs.create_dir(bucket)
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    return f"s3://{bucket}/traces"
