"""Where a lake lives: a local folder or an ``s3://bucket/prefix``, behind one small API.

A :class:`Location` is a pyarrow filesystem and a root path in it. Everything the lake does
to storage goes through it: writing a file so that it appears only once complete
(:meth:`Location.put`), reading, listing and deleting. On a local disk a file is written
under a hidden temporary name and renamed; on S3 an object appears only when its upload
completes, which gives the same guarantee without a rename.

Credentials, region and endpoint of an S3 lake come from the standard AWS variables (read by
:func:`workbench.config.aws`), and the endpoint also from ``--lake-endpoint`` /
``WORKBENCH_LAKE_ENDPOINT``, for S3-compatible stores such as MinIO or moto.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pyarrow as pa
import pyarrow.fs as pafs

from workbench import config
from workbench.errors import LakeError

__all__ = ["Location", "locate"]


@dataclass(frozen=True)
class Location:
    """A lake's storage: ``fs`` and the ``root`` path in it (no trailing slash).

    Attributes:
        uri: The lake as the user named it.
        fs: The pyarrow filesystem.
        root: The lake's root path inside ``fs``.
        local: Whether it is a local folder (files are renamed into place).
    """

    uri: str
    fs: pafs.FileSystem
    root: str
    local: bool

    def path(self, relative: str) -> str:
        """The full path in :attr:`fs` of a path relative to the root."""
        return f"{self.root}/{relative}" if relative else self.root

    def relative(self, full: str) -> str:
        """A full path of :attr:`fs` as a path relative to the root."""
        return full[len(self.root) + 1:] if full.startswith(self.root + "/") else full

    def put(self, relative: str, data: bytes | pa.Buffer) -> None:
        """Write a file that becomes visible only once complete (replacing one of that name).

        Raises:
            LakeError: The lake cannot be written.
        """
        target = self.path(relative)
        try:
            if self.local:
                folder, name = target.rsplit("/", 1)
                self.fs.create_dir(folder, recursive=True)
                temporary = f"{folder}/.{name}.{uuid.uuid4().hex[:8]}.tmp"
                with self.fs.open_output_stream(temporary) as out:
                    out.write(data)
                self.fs.move(temporary, target)
            else:
                with self.fs.open_output_stream(target) as out:
                    out.write(data)
        except (OSError, pa.ArrowException) as exc:
            raise LakeError(f"Cannot write {relative} to the lake {self.uri}: {exc}; "
                            "check it is reachable and writable.") from None

    def get(self, relative: str) -> bytes | None:
        """A file's bytes, or None when it does not exist.

        Raises:
            LakeError: The lake cannot be read.
        """
        try:
            with self.fs.open_input_stream(self.path(relative)) as stream:
                return stream.read()
        except FileNotFoundError:
            return None
        except (OSError, pa.ArrowException) as exc:
            if "NoSuchKey" in str(exc) or "does not exist" in str(exc) or "Path does not exist" in str(exc):
                return None
            raise LakeError(f"Cannot read {relative} from the lake {self.uri}: {exc}; check it is reachable.") from None

    def list(self, relative: str, *, recursive: bool = True) -> list[pafs.FileInfo]:
        """The files under a folder of the lake (none when it does not exist), each a FileInfo
        whose ``path`` is relative to the root.

        Raises:
            LakeError: The lake cannot be listed.
        """
        selector = pafs.FileSelector(self.path(relative), recursive=recursive, allow_not_found=True)
        try:
            infos = self.fs.get_file_info(selector)
        except (OSError, pa.ArrowException) as exc:
            raise LakeError(f"Cannot list {relative or '/'} in the lake {self.uri}: {exc}; "
                            "check it is reachable.") from None
        return [
            pafs.FileInfo(self.relative(i.path), i.type, mtime=i.mtime, size=i.size)
            for i in infos if i.type == pafs.FileType.File
        ]

    def delete(self, relative: str) -> None:
        """Delete a file; one already gone is no error."""
        try:
            self.fs.delete_file(self.path(relative))
        except FileNotFoundError:
            pass
        except (OSError, pa.ArrowException) as exc:
            if "NoSuchKey" not in str(exc) and "does not exist" not in str(exc):
                raise LakeError(f"Cannot delete {relative} in the lake {self.uri}: {exc}.") from None

    def holds_lake(self) -> bool:
        """Whether anything was ever committed here (a ``_commits`` or ``_checkpoints`` folder).

        Raises:
            LakeError: The lake cannot be reached.
        """
        try:
            infos = self.fs.get_file_info([self.path("_commits"), self.path("_checkpoints")])
        except (OSError, pa.ArrowException) as exc:
            raise LakeError(f"Cannot look into the lake {self.uri}: {exc}; check it is reachable.") from None
        return any(info.type == pafs.FileType.Directory for info in infos)

    def open_input(self, relative: str) -> Any:
        """A random-access file to read Parquet from."""
        return self.fs.open_input_file(self.path(relative))

    def walk(self, relative: str) -> Iterator[str]:
        """The relative paths of the files under a folder."""
        for info in self.list(relative):
            yield info.path


def locate(uri: str | Path, *, endpoint: str | None = None, filesystem: pafs.FileSystem | None = None) -> Location:
    """The :class:`Location` of a lake URI: a folder (``/data/lake``, ``file:///data/lake``) or
    ``s3://bucket/prefix``.

    Args:
        uri: The lake.
        endpoint: An S3-compatible endpoint such as ``http://127.0.0.1:9000`` (default:
            ``WORKBENCH_LAKE_ENDPOINT``, else ``AWS_ENDPOINT_URL``).
        filesystem: Use this pyarrow filesystem instead (the root is then the URI's path).

    Raises:
        LakeError: The URI names a scheme other than a folder or s3.
    """
    text = str(uri).strip()
    if not text:
        raise LakeError("The lake is empty text; give a folder or s3://bucket/prefix.")
    parsed = urlparse(text)
    if filesystem is not None:
        root = (parsed.netloc + parsed.path) if parsed.scheme == "s3" else str(Path(parsed.path or text))
        return Location(text, filesystem, root.rstrip("/"), parsed.scheme not in ("s3",))
    if parsed.scheme in ("", "file") or (len(parsed.scheme) == 1 and text[1:2] == ":"):  # C:\ on Windows
        folder = Path(parsed.path if parsed.scheme == "file" else text).expanduser().resolve()
        return Location(text, pafs.LocalFileSystem(), folder.as_posix().rstrip("/"), True)
    if parsed.scheme != "s3":
        raise LakeError(f"The lake {text!r} is neither a folder nor s3://bucket/prefix; give one of those.")
    if not parsed.netloc:
        raise LakeError(f"The lake {text!r} names no bucket; give s3://bucket/prefix.")
    return Location(text, s3_filesystem(endpoint), (parsed.netloc + parsed.path).rstrip("/"), False)


def s3_filesystem(endpoint: str | None = None) -> pafs.S3FileSystem:
    """An S3 filesystem from the standard AWS variables and the lake endpoint setting."""
    env = config.aws()
    endpoint = endpoint or config.get("lake_endpoint") or env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL")
    options: dict[str, Any] = {
        "region": env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
        "retry_strategy": pafs.AwsStandardS3RetryStrategy(max_attempts=3),
        "connect_timeout": 5,
        "request_timeout": 30,
        # A file smaller than one upload part goes up in one PutObject (one request, and
        # S3-compatible stores that mishandle multipart completion still work).
        "allow_delayed_open": True,
    }
    if env.get("AWS_ACCESS_KEY_ID"):
        options.update(access_key=env["AWS_ACCESS_KEY_ID"], secret_key=env.get("AWS_SECRET_ACCESS_KEY", ""),
                       session_token=env.get("AWS_SESSION_TOKEN"))
    if endpoint:
        parsed = urlparse(endpoint if "://" in endpoint else f"http://{endpoint}")
        options.update(endpoint_override=parsed.netloc, scheme=parsed.scheme or "http")
        # S3-compatible stores are addressed by path, not by a bucket's own host name.
        options["force_virtual_addressing"] = False
    try:
        return pafs.S3FileSystem(**options)
    except (OSError, pa.ArrowException, TypeError) as exc:
        raise LakeError(f"Cannot set up S3 access ({exc}); check the AWS_* variables and --lake-endpoint.") from None
