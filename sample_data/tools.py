"""The fictional apps' tools: what they are told, what they return, how long they take.

``check_service_status`` calls a status page API that sometimes hangs: a slow tail up to the
10-second client timeout (story 4, next to the slow model provider).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from .scenario import Request

__all__ = ["SPECS", "ToolCall", "call", "support_tool_for"]

SPECS: dict[str, dict[str, Any]] = {
    "lookup_invoice": {
        "description": "Look up one of the workspace's invoices by number (LUM-YYYY-NNNNNN).",
        "parameters": {"type": "object", "properties": {"number": {"type": "string"}}, "required": ["number"]},
    },
    "get_subscription": {
        "description": "Read the workspace's plan, billing period, seats and renewal date.",
        "parameters": {
            "type": "object",
            "properties": {"workspace_id": {"type": "string"}},
            "required": ["workspace_id"],
        },
    },
    "get_pipeline_runs": {
        "description": "List the workspace's most recent pipeline runs, optionally only failed ones.",
        "parameters": {
            "type": "object",
            "properties": {
                "workspace_id": {"type": "string"},
                "status": {"type": "string"},
                "limit": {"type": "integer"},
            },
            "required": ["workspace_id"],
        },
    },
    "check_service_status": {
        "description": "Check Lumen's status page for the workspace's region.",
        "parameters": {"type": "object", "properties": {"region": {"type": "string"}}, "required": ["region"]},
    },
    "search_help_center": {
        "description": "Search the help center; returns article ids and titles.",
        "parameters": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]},
    },
    "create_refund_request": {
        "description": "Open a refund request for billing to review.",
        "parameters": {
            "type": "object",
            "properties": {"invoice": {"type": "string"}, "reason": {"type": "string"}},
            "required": ["invoice", "reason"],
        },
    },
}

_PRICES = {"free": 0.0, "starter": 59.0, "growth": 449.0, "business": 1490.0, "enterprise": 4200.0}
_CODE = re.compile(r"LMN-\d{4}")


@dataclass
class ToolCall:
    """One tool invocation: arguments, result, what the answer says about it, timing."""

    name: str
    arguments: dict[str, Any]
    result: dict[str, Any] | None
    lead: str  # the sentence the answer opens with
    latency_ms: float
    error: str | None = None

    @property
    def result_json(self) -> str:
        """The result as the tool returned it (or the error)."""
        return json.dumps(self.result if self.error is None else {"error": self.error}, separators=(",", ":"))


def support_tool_for(rng: np.random.Generator, request: Request) -> str | None:
    """The tool the support chat agent reaches for on this question, if any."""
    topic = request.question.topic
    if topic == "invoices":
        return "lookup_invoice" if rng.random() < 0.6 else None
    if topic == "billing":
        return "get_subscription" if rng.random() < 0.45 else None
    if topic in ("troubleshooting", "integrations"):
        roll = rng.random()
        return "get_pipeline_runs" if roll < 0.35 else "check_service_status" if roll < 0.55 else None
    return "check_service_status" if rng.random() < 0.06 else None


def invoice_number(rng: np.random.Generator) -> str:
    """A plausible invoice number."""
    return f"LUM-2026-{int(rng.integers(3000, 6000)):06d}"


def _lognormal_ms(rng: np.random.Generator, median: float, sigma: float) -> float:
    return float(median * np.exp(sigma * rng.standard_normal()))


def call(rng: np.random.Generator, name: str, request: Request, gold_text: str = "") -> ToolCall:
    """Run a tool for a request (made up, consistently with the request and its question)."""
    ws = request.workspace
    when = request.when
    if name == "lookup_invoice":
        number = str(request.extra.get("invoice") or invoice_number(rng))
        base = _PRICES[ws.plan] or 59.0
        overage = round(float(rng.choice([0, 0, 0, rng.uniform(20, 400)])), 2)
        issued = (when - dt.timedelta(days=int(rng.integers(1, 40)))).date().isoformat()
        status = str(rng.choice(["paid", "paid", "paid", "open", "past_due"]))
        if rng.random() < 0.04:
            return ToolCall(
                name, {"number": number}, None, "", _lognormal_ms(rng, 110, 0.3), f"invoice {number} not found"
            )
        lines = [{"description": f"{ws.plan.capitalize()} plan (monthly)", "amount": base}]
        if overage:
            lines.append({"description": f"Row overage ({int(overage / 0.55)}M rows)", "amount": overage})
        total = round(base + overage, 2)
        result = {
            "number": number,
            "status": status,
            "issued": issued,
            "currency": "USD",
            "total": total,
            "lines": lines,
        }
        lead = (
            f"Invoice {number} was issued on {issued} for ${total:,.2f} and its status is {status.replace('_', ' ')}."
        )
        return ToolCall(name, {"number": number}, result, lead, _lognormal_ms(rng, 120, 0.35))
    if name == "get_subscription":
        seats = int(rng.integers(2, 30))
        renews = (when + dt.timedelta(days=int(rng.integers(1, 30)))).date().isoformat()
        result = {
            "plan": ws.plan,
            "billing": str(rng.choice(["monthly", "annual"])),
            "seats_used": seats,
            "renews_on": renews,
            "currency": "USD",
        }
        lead = (
            f"Your workspace is on the {ws.plan.capitalize()} plan, billed {result['billing']}, renewing on {renews}."
        )
        return ToolCall(name, {"workspace_id": ws.id}, result, lead, _lognormal_ms(rng, 90, 0.3))
    if name == "get_pipeline_runs":
        found = _CODE.findall(gold_text)
        code = found[0] if found else str(rng.choice(["LMN-1001", "LMN-1002", "LMN-3001", "LMN-6001"]))
        run = f"run_{int(rng.integers(10**7, 10**8))}"
        finished = (when - dt.timedelta(minutes=int(rng.integers(5, 600)))).isoformat(timespec="seconds")
        result = {
            "runs": [
                {
                    "pipeline_id": f"pl_{int(rng.integers(1000, 9999))}",
                    "run_id": run,
                    "status": "failed",
                    "error_code": code,
                    "finished_at": finished,
                }
            ]
        }
        lead = f"Your most recent failed run, {run}, stopped with {code}."
        args = {"workspace_id": ws.id, "status": "failed", "limit": 5}
        return ToolCall(name, args, result, lead, _lognormal_ms(rng, 180, 0.4))
    if name == "check_service_status":
        args = {"region": ws.region}
        if rng.random() < 0.08:  # the status API hangs: a slow tail up to the client timeout
            latency = min(10_000.0, _lognormal_ms(rng, 6500, 0.35))
            if latency >= 10_000.0:
                return ToolCall(name, args, None, "", latency, "TimeoutError: status API did not answer within 10 s")
        else:
            latency = _lognormal_ms(rng, 240, 0.4)
        result = {
            "region": ws.region,
            "status": "operational",
            "components": {
                "web_app": "operational",
                "api": "operational",
                "scheduler": "operational",
                "connectors": "operational",
            },
        }
        lead = f"All Lumen services in the {ws.region.upper()} region are operational right now."
        return ToolCall(name, args, result, lead, latency)
    if name == "create_refund_request":
        number = str(request.extra.get("invoice") or invoice_number(rng))
        ref = f"RR-{int(rng.integers(10000, 99999))}"
        result = {"refund_request": ref, "invoice": number, "status": "under_review"}
        lead = f"I've opened refund request {ref} for invoice {number}; billing reviews it within two business days."
        return ToolCall(
            name, {"invoice": number, "reason": "customer_request"}, result, lead, _lognormal_ms(rng, 300, 0.3)
        )
    raise ValueError(f"unknown tool {name!r}")
