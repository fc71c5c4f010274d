"""Deliver files to a URL: file, ftp, ftps, sftp, s3, webdav, webdavs, and plug-ins.

    with open_transport("sftp://wfm@host/import", {"password": ...}) as transport:
        result = transport.put(Path("queue.csv"), "queue.csv")

Every transport uploads to a temporary name and renames into place (S3 writes are atomic already),
checks the size (and checksum where the server gives one), creates missing folders, retries
transient faults with backoff, and fails at once on bad credentials.
"""

from wfmcli.transports.base import FileResult, ProbeStep, Transport
from wfmcli.transports.options import TransportOptions
from wfmcli.transports.registry import open_transport, register, schemes, transport_class

__all__ = [
    "FileResult",
    "ProbeStep",
    "Transport",
    "TransportOptions",
    "open_transport",
    "register",
    "schemes",
    "transport_class",
]
