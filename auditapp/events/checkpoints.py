"""Checkpoints of the event log kept outside the database: the chain head (seq, hash, time), signed with the
chain's key and appended as JSON lines to a file the database owner does not control.

A chain can be cut short and its head rewound by whoever owns the database; a checkpoint written before
remembers how far it reached (`flask events verify`). Written by `flask events checkpoint` (cron or a
systemd timer) and when a management review is recorded as held.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from ..core.timeutil import utcnow
from ..extensions import db
from .models import Event, EventChainHead
from .services import GENESIS, event_key


@dataclass
class Checkpoint:
    seq: int
    hash: str
    at: str
    line: int


def checkpoint_file() -> Path:
    return Path(current_app.config.get("CHECKPOINT_FILE") or Path(current_app.instance_path) / "checkpoints.jsonl")


def _signature(seq: int, chain_hash: str, at: str) -> str:
    message = json.dumps({"seq": seq, "hash": chain_hash, "at": at}, sort_keys=True, separators=(",", ":"))
    return hmac.new(event_key(), message.encode(), hashlib.sha256).hexdigest()


def write_checkpoint() -> Checkpoint:
    """Append the committed chain head to the checkpoint file; read on a connection of its own, so it also
    runs after a request's commit."""
    with db.engine.connect() as conn:
        head = conn.execute(
            select(EventChainHead.last_seq, EventChainHead.last_hash).where(EventChainHead.id == 1)
        ).one_or_none()
    seq, chain_hash = (head.last_seq, head.last_hash) if head else (0, GENESIS)
    at = utcnow().isoformat(timespec="seconds")
    line = json.dumps({"seq": seq, "hash": chain_hash, "at": at, "hmac": _signature(seq, chain_hash, at)})
    path = checkpoint_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a") as fh:  # one write of one line: appends from two processes do not interleave
        fh.write(line + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    return Checkpoint(seq, chain_hash, at, 0)


def read_checkpoints() -> tuple[list[Checkpoint], list[str]]:
    """The checkpoints whose signature holds, and a problem for each line that does not."""
    path = checkpoint_file()
    if not path.exists():
        return [], []
    good, problems = [], []
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            entry = json.loads(raw)
            seq, chain_hash, at = int(entry["seq"]), str(entry["hash"]), str(entry["at"])
            valid = hmac.compare_digest(str(entry["hmac"]), _signature(seq, chain_hash, at))
        except (ValueError, KeyError, TypeError):
            problems.append(f"checkpoint line {number}: unreadable")
            continue
        if not valid:
            problems.append(f"checkpoint line {number}: its signature does not hold (not written with this key)")
            continue
        good.append(Checkpoint(seq, chain_hash, at, number))
    return good, problems


def check_against_checkpoints(chain_length: int) -> tuple[int, list[str]]:
    """Compare the (already verified) chain with every signed checkpoint; return (checkpoints, problems)."""
    checkpoints, problems = read_checkpoints()
    furthest = max(checkpoints, key=lambda c: c.seq, default=None)
    if furthest is not None and furthest.seq > chain_length:
        problems.append(
            f"the log ends at entry {chain_length} but a checkpoint saw entry {furthest.seq} "
            f"(line {furthest.line}, {furthest.at}): its tail was removed"
        )
    wanted = sorted({c.seq for c in checkpoints if 0 < c.seq <= chain_length})
    stored: dict[int, str] = {}
    for start in range(0, len(wanted), 500):
        stored.update(
            (seq, chain_hash)
            for seq, chain_hash in db.session.execute(
                select(Event.seq, Event.hash).where(Event.seq.in_(wanted[start : start + 500]))
            )
        )
    for checkpoint in checkpoints:
        if checkpoint.seq == 0 or checkpoint.seq > chain_length:
            continue
        if stored.get(checkpoint.seq) != checkpoint.hash:
            problems.append(
                f"entry {checkpoint.seq} is not the one checkpoint line {checkpoint.line} "
                f"({checkpoint.at}) saw: the log was rewritten from there on"
            )
    return len(checkpoints), problems
