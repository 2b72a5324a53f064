"""Photos in an S3-compatible bucket, so that several app hosts serve the same files.

Keys mirror the folder layout under a prefix: <prefix><sha[:2]>/<sha>.jpg and .thumb.jpg, named
from the hash only. A PUT is atomic (readers see the whole object or none), so there are no
temporary files. The bucket is never public: photos are streamed through the app, which checks
who may see them first. Every failure to reach the bucket is raised as `PhotoStoreUnavailable`,
an OSError, so callers handle a folder and a bucket alike.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from .pipeline import ProcessedPhoto
from .storage import StoredFile, photo_file

_NAME = re.compile(r"(?P<shard>[0-9a-f]{2})/(?P<sha>[0-9a-f]{64})(?P<thumb>\.thumb)?\.jpg")
_MISSING = {"404", "NoSuchKey", "NotFound"}


class PhotoStoreUnavailable(OSError):
    """The bucket could not be reached, or refused the request (credentials, missing bucket)."""


@contextmanager
def _unavailable(action: str) -> Iterator[None]:
    """Raise boto's errors as PhotoStoreUnavailable, saying what was attempted."""
    try:
        yield
    except (BotoCoreError, ClientError) as err:
        raise PhotoStoreUnavailable(f"photo store: {action} failed: {err}") from err


def _is_missing(err: ClientError) -> bool:
    return str(err.response.get("Error", {}).get("Code")) in _MISSING


class S3Store:
    """Photos as objects of one bucket, under a prefix; see the module docstring for the layout."""

    def __init__(self, client: Any, bucket: str, prefix: str = "photos/"):
        if not bucket:
            raise RuntimeError("AUDITAPP_PHOTO_STORAGE=s3 needs AUDITAPP_S3_BUCKET")
        self.client = client
        self.bucket = bucket
        self.prefix = prefix if not prefix or prefix.endswith("/") else prefix + "/"

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> S3Store:
        """The store the app's AUDITAPP_S3_* settings describe; unset keys fall back to the AWS chain."""
        endpoint = config.get("S3_ENDPOINT_URL") or None
        client = boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint,
            region_name=config.get("S3_REGION") or None,
            aws_access_key_id=config.get("S3_ACCESS_KEY_ID") or None,
            aws_secret_access_key=config.get("S3_SECRET_ACCESS_KEY") or None,
            config=Config(
                connect_timeout=config.get("S3_CONNECT_TIMEOUT", 3),
                read_timeout=config.get("S3_READ_TIMEOUT", 10),
                retries={"mode": "standard", "max_attempts": config.get("S3_MAX_ATTEMPTS", 3)},
                # Servers other than AWS (SeaweedFS, MinIO, Ceph) answer at one address, bucket in the path.
                s3={"addressing_style": "path" if endpoint else "auto"},
            ),
        )
        return cls(client, config.get("S3_BUCKET", ""), config.get("S3_PREFIX", "photos/"))

    def key(self, sha256: str, thumbnail: bool = False) -> str:
        """The object key of a photo or its thumbnail (ValueError unless sha256 is a hex SHA-256)."""
        return self.prefix + photo_file(Path(), sha256, thumbnail).as_posix()

    def save(self, photo: ProcessedPhoto) -> bool:
        # Thumbnail first, so an existing full image always has its thumbnail next to it.
        self._put_once(self.key(photo.sha256, thumbnail=True), photo.thumbnail)
        return self._put_once(self.key(photo.sha256), photo.data)

    def read(self, sha256: str, thumbnail: bool = False) -> bytes | None:
        key = self.key(sha256, thumbnail)
        with _unavailable(f"reading {key}"):
            try:
                response = self.client.get_object(Bucket=self.bucket, Key=key)
            except ClientError as err:
                if _is_missing(err):
                    return None
                raise
            data: bytes = response["Body"].read()
        return data

    def has(self, sha256: str, thumbnail: bool = False) -> bool:
        """True when the object exists (a HEAD request: nothing is downloaded)."""
        return self._exists(self.key(sha256, thumbnail))

    def write(self, sha256: str, data: bytes, thumbnail: bool = False) -> None:
        key = self.key(sha256, thumbnail)
        with _unavailable(f"writing {key}"):
            self.client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType="image/jpeg")

    def delete(self, sha256: str) -> None:
        # Reverse of save's order, keeping "full image present => thumbnail present".
        for key in (self.key(sha256), self.key(sha256, thumbnail=True)):
            with _unavailable(f"deleting {key}"):
                self.client.delete_object(Bucket=self.bucket, Key=key)

    def files(self) -> Iterator[StoredFile]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix)
        with _unavailable("listing the photos"):
            for page in pages:
                for item in page.get("Contents", []):
                    name = item["Key"][len(self.prefix) :]
                    match = _NAME.fullmatch(name)
                    if match and match["shard"] == match["sha"][:2]:
                        yield StoredFile(
                            name=name,
                            sha256=match["sha"],
                            thumbnail=bool(match["thumb"]),
                            temporary=False,  # a PUT is whole or absent
                            modified=item["LastModified"].timestamp(),
                            size=item["Size"],
                        )

    def remove(self, name: str) -> None:
        with _unavailable(f"removing {name}"):
            self.client.delete_object(Bucket=self.bucket, Key=self._key(name))

    def modified(self, name: str) -> float | None:
        with _unavailable(f"looking up {name}"):
            try:
                head = self.client.head_object(Bucket=self.bucket, Key=self._key(name))
            except ClientError as err:
                if _is_missing(err):
                    return None
                raise
        return head["LastModified"].timestamp()

    def _key(self, name: str) -> str:
        match = _NAME.fullmatch(name)
        if not (match and match["shard"] == match["sha"][:2]):
            raise ValueError(f"not a name this store wrote: {name!r}")
        return self.prefix + name

    def check(self) -> None:
        """The bucket answers to these credentials (a HEAD: cheap enough for every /ready probe)."""
        with _unavailable(f"reaching bucket {self.bucket!r}"):
            self.client.head_bucket(Bucket=self.bucket)

    def _put_once(self, key: str, data: bytes) -> bool:
        """Upload unless the object exists (True if uploaded); an existing one is marked as used now."""
        if self._exists(key):
            self._refresh(key)
            return False
        with _unavailable(f"uploading {key}"):
            self.client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType="image/jpeg")
        return True

    def _exists(self, key: str) -> bool:
        with _unavailable(f"looking up {key}"):
            try:
                self.client.head_object(Bucket=self.bucket, Key=key)
            except ClientError as err:
                if _is_missing(err):
                    return False
                raise
        return True

    def _refresh(self, key: str) -> None:
        """Give the object a new LastModified, so `flask photos sweep` leaves it to the row about to use it.

        S3 has no touch; copying an object onto itself is allowed when its metadata is replaced, and the
        copy is a new object version with a new LastModified (checked on SeaweedFS by the tests)."""
        with _unavailable(f"refreshing {key}"):
            self.client.copy_object(
                Bucket=self.bucket,
                Key=key,
                CopySource={"Bucket": self.bucket, "Key": key},
                MetadataDirective="REPLACE",
                ContentType="image/jpeg",
                Metadata={"used-at": str(int(time.time()))},
            )
