"""Long work as plain functions ``fn(..., state: JobState)``: the same code behind the
GUI (run on a worker thread, progress through queued signals) and the CLI (a
progress bar). They report progress and poll ``state.check()`` for cancellation."""

from lightable.jobs.base import Cancelled, JobState

__all__ = ["Cancelled", "JobState"]
