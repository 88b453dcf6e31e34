"""The wallet panel's rows: each award's title, kind, status and time left, from the server's
``wallet`` items (docs/protocol.md). Plain data, no panda3d.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

KIND_LABEL = {"metapass": "Meta-Pass", "voucher": "Voucher", "early_access": "Early access", "badge": "Badge"}


@dataclass(frozen=True)
class WalletRow:
    """One line of the wallet panel."""

    seq: int
    title: str
    kind: str
    status: str
    """``valid``, ``redeemed``, ``expired`` or ``not yet valid``."""
    time_left: str
    redeemable: bool


def _when(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(str(text).replace("Z", "+00:00"))


def time_left(seconds: float) -> str:
    """A short human duration: ``2d 23h``, ``5h 12m``, ``42m``, ``30s``."""
    s = int(max(seconds, 0))
    days, rest = divmod(s, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m" if minutes else f"{secs}s"


def wallet_rows(items: list[dict[str, Any]], now: datetime | None = None) -> list[WalletRow]:
    """The panel rows for the wallet ``items``, newest award first."""
    now = now or datetime.now(UTC)
    rows = []
    for item in sorted(items, key=lambda i: int(i.get("seq", 0)), reverse=True):
        kind = str(item.get("kind", ""))
        start, end = _when(item.get("valid_from")), _when(item.get("valid_until"))
        if item.get("redeemed_at"):
            status, left = "redeemed", ""
        elif end is not None and now >= end:
            status, left = "expired", ""
        elif start is not None and now < start:
            status, left = "not yet valid", f"opens in {time_left((start - now).total_seconds())}"
        else:
            status = "valid"
            left = f"{time_left((end - now).total_seconds())} left" if end is not None else "no expiry"
        title = str(item.get("name") or item.get("entitlement", "?"))
        if item.get("unit") is not None:
            title += f"  #{int(item['unit']) + 1}"
        rows.append(WalletRow(int(item.get("seq", -1)), title, KIND_LABEL.get(kind, kind), status, left,
                              kind == "voucher" and status == "valid"))
    return rows
