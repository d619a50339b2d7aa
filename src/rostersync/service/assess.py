"""Assess a school: the change set and the findings, before anything is written."""

from __future__ import annotations

from dataclasses import dataclass

from rostersync.domain.changes import ChangeSet, diff
from rostersync.domain.policy import (
    Finding,
    HoldKind,
    Policy,
    configuration_findings,
    hold_kind_of,
    removal_findings,
)
from rostersync.domain.roster import FreshRoster, SchoolRoster


@dataclass(slots=True)
class Assessment:
    current: SchoolRoster
    desired: SchoolRoster
    change_set: ChangeSet
    findings: list[Finding]
    hold_kind: HoldKind | None


def assess(current: SchoolRoster, desired: SchoolRoster, policy: Policy) -> Assessment:
    """Diff the school and run every policy on the result."""
    change_set = diff(current, desired)
    findings = configuration_findings(desired, policy)
    findings += removal_findings(current.counts(), change_set, policy)
    return Assessment(current, desired, change_set, findings, hold_kind_of(findings))


def assess_first(
    desired: SchoolRoster | FreshRoster, policy: Policy
) -> tuple[list[Finding], HoldKind | None]:
    """``assess`` from an empty roster (a school's first load), without the change set:
    every row of ``desired`` is added and nothing is removed, so only the configuration
    policies can find anything (the same findings as ``assess``; tests pin it)."""
    findings = configuration_findings(desired, policy)
    return findings, hold_kind_of(findings)
