"""s3://bucket/prefix with boto3: AWS or any S3-compatible store (endpoint_url).

An S3 PUT is atomic (readers see the old object or the whole new one), so files go straight to
their final key: no temp name, no rename. After the upload the object's size and ETag are checked
against the local file (the ETag is the MD5, or the MD5 of the part MD5s for multipart uploads;
SSE-KMS objects have no MD5 ETag, so only their size is checked). Credentials come from the
options, a named profile, or boto3's usual chain (environment, ~/.aws, instance role).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

from wfmcli.errors import AuthError, ConfigError, RemoteError, TransientError, WfmError
from wfmcli.transports.base import Transport
from wfmcli.transports.faults import network_error, timeout_error
from wfmcli.transports.options import COMMON_OPTIONS, LOGIN_OPTIONS, S3_OPTIONS, TLS_OPTIONS
from wfmcli.transports.tls import requests_verify

PART_SIZE = 16 * 1024 * 1024
_AUTH_CODES = {
    "AccessDenied",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "InvalidToken",
    "TokenRefreshRequired",
    "AllAccessDisabled",
    "403",
}
_TIMEOUTS = (botocore.exceptions.ConnectTimeoutError, botocore.exceptions.ReadTimeoutError)
_LINK_ERRORS = (botocore.exceptions.ConnectionError, botocore.exceptions.HTTPClientError)
_TRANSIENT_CODES = {"SlowDown", "RequestTimeout", "InternalError", "ServiceUnavailable", "503"}


class S3Transport(Transport):
    scheme = "s3"
    # username/password in a URL or on the command line mean access key id / secret key.
    option_names = COMMON_OPTIONS | LOGIN_OPTIONS | S3_OPTIONS | TLS_OPTIONS
    atomic_writes = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._s3: Any = None
        self.bucket = self.url.host
        if not self.bucket:
            raise ConfigError("s3:// URLs name the bucket as host: s3://bucket/prefix")

    @property
    def base_path(self) -> str:
        return self.url.path.strip("/")

    @property
    def s3(self) -> Any:
        if self._s3 is None:
            raise TransientError(f"not connected to {self.display()}")
        return self._s3

    def _open(self) -> None:
        opts = self.options
        try:
            session = boto3.session.Session(
                profile_name=opts.profile,
                aws_access_key_id=opts.access_key_id or opts.username,
                aws_secret_access_key=opts.secret_access_key or opts.password,
                aws_session_token=opts.session_token,
                region_name=opts.region,
            )
        except botocore.exceptions.ProfileNotFound as exc:
            raise ConfigError(f"AWS profile {opts.profile!r} not found", hint=str(exc)) from exc
        config = Config(
            connect_timeout=opts.timeout,
            read_timeout=opts.timeout,
            # tenacity in the base class is the one retry layer, so attempts are counted right.
            retries={"total_max_attempts": 1, "mode": "standard"},
        )
        self._s3 = session.client(
            "s3",
            endpoint_url=opts.endpoint_url,
            config=config,
            verify=requests_verify(opts, opts.endpoint_url or "S3"),
        )
        self._s3.head_bucket(Bucket=self.bucket)

    def _close(self) -> None:
        client, self._s3 = self._s3, None
        if client is not None:
            client.close()

    def _mkdir(self, path: str) -> None:
        """S3 has no folders: a key with slashes is enough."""

    def _is_dir(self, path: str) -> bool:
        return True

    def _upload(self, local: Path, remote: str) -> None:
        extra: dict[str, str] = {}
        if self.options.sse:
            extra["ServerSideEncryption"] = self.options.sse
        if self.options.sse_kms_key_id:
            extra["SSEKMSKeyId"] = self.options.sse_kms_key_id
        if self.options.storage_class:
            extra["StorageClass"] = self.options.storage_class
        transfer = TransferConfig(multipart_threshold=PART_SIZE, multipart_chunksize=PART_SIZE)
        self.s3.upload_file(str(local), self.bucket, remote, ExtraArgs=extra, Config=transfer)

    def _rename(self, source: str, target: str) -> None:
        self.s3.copy_object(
            Bucket=self.bucket, Key=target, CopySource={"Bucket": self.bucket, "Key": source}
        )
        self.s3.delete_object(Bucket=self.bucket, Key=source)

    def _head(self, remote: str) -> dict[str, Any] | None:
        try:
            head: dict[str, Any] = self.s3.head_object(Bucket=self.bucket, Key=remote)
        except botocore.exceptions.ClientError as exc:
            if _code(exc) in {"404", "NoSuchKey", "NotFound"}:
                return None
            raise
        return head

    def _remote_size(self, remote: str) -> int | None:
        head = self._head(remote)
        return None if head is None else int(head["ContentLength"])

    def _verify_checksum(self, local: Path, remote: str) -> None:
        if (self.options.sse or "").lower() == "aws:kms":
            return
        head = self._head(remote) or {}
        etag = str(head.get("ETag", "")).strip('"')
        expected = expected_etag(local, PART_SIZE)
        if etag and etag != expected:
            raise TransientError(
                f"s3://{self.bucket}/{remote} has ETag {etag}, the local file gives {expected}"
            )

    def _remove(self, remote: str) -> None:
        self.s3.delete_object(Bucket=self.bucket, Key=remote)

    def _translate(self, exc: Exception) -> WfmError:
        where = f"s3://{self.bucket} ({self.options.endpoint_url or 'AWS'})"
        client_error = _client_error(exc)
        if client_error is not None:
            code = _code(client_error)
            message = f"{where} refused: {code}: {_message(client_error)}"
            if code in _AUTH_CODES:
                return AuthError(message, hint="check the access key, secret and the bucket policy")
            if code in _TRANSIENT_CODES or code.startswith("5"):
                return TransientError(message)
            if code in {"404", "NoSuchBucket"}:
                return RemoteError(f"bucket {self.bucket} not found at {where}")
            return RemoteError(message)
        if isinstance(exc, botocore.exceptions.NoCredentialsError):
            return AuthError(
                f"no AWS credentials for {where}",
                hint="set access_key_id and secret_access_key, a profile, or AWS_* variables",
            )
        if isinstance(exc, _TIMEOUTS):
            return timeout_error(where, self.options.timeout)
        if isinstance(exc, botocore.exceptions.EndpointConnectionError):
            return TransientError(f"cannot connect to {where}: {exc}")
        if isinstance(exc, _LINK_ERRORS):
            return network_error(exc, where, self.options.timeout) or TransientError(
                f"connection to {where} failed: {exc}"
            )
        translated = network_error(exc, where, self.options.timeout)
        return translated or RemoteError(f"{where} failed: {type(exc).__name__}: {exc}")


def expected_etag(local: Path, part_size: int) -> str:
    """The ETag S3 gives an unencrypted or SSE-S3 object uploaded in `part_size` parts."""
    size = local.stat().st_size
    with local.open("rb") as source:
        if size < part_size:
            return hashlib.md5(source.read(), usedforsecurity=False).hexdigest()
        digests = [
            hashlib.md5(chunk, usedforsecurity=False).digest()
            for chunk in iter(lambda: source.read(part_size), b"")
        ]
    combined = hashlib.md5(b"".join(digests), usedforsecurity=False).hexdigest()
    return f"{combined}-{len(digests)}"


def _client_error(exc: BaseException) -> botocore.exceptions.ClientError | None:
    # upload_file wraps ClientError in S3UploadFailedError without `from`, so follow __context__.
    current: BaseException | None = exc
    while current is not None:
        if isinstance(current, botocore.exceptions.ClientError):
            return current
        current = current.__cause__ or current.__context__
    return None


def _code(exc: botocore.exceptions.ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _message(exc: botocore.exceptions.ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Message", "")) or str(exc)
