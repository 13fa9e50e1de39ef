"""The one error tree of the ``reports`` package: figures, staffing advice and the event log."""

from __future__ import annotations


class ReportError(Exception):
    """Base of every error the ``reports`` package raises."""


class ReportRenderError(ReportError):
    """A report could not be drawn in the asked format (e.g. the PDF library is missing)."""
