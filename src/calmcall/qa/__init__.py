"""Quality assurance after the call: session logs, scorecards, HTML reports, batch runs.

* :mod:`calmcall.qa.sessionlog` - crash-safe append-only JSONL session logs
  (``SessionWriter``, ``read_session``, ``list_sessions``).
* :mod:`calmcall.qa.scorecard` - pure functions: analyze document -> scorecard dict.
* :mod:`calmcall.qa.report` - one self-contained HTML report per call or session.
* :mod:`calmcall.qa.batch` - many calls in parallel, per-call JSON + report, summary CSV.
* :mod:`calmcall.qa.commands` - the ``sessions`` / ``report`` subcommands and ``run_batch``.

Reports state measurable facts about the call; they never label the agent's emotions.
"""
